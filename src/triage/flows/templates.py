"""Editors' templates and expressions, in Jinja2's sandbox.

Checked once when content loads, so syntax errors, unknown names, filters, tests and fields
surface in ``triage validate`` and never in front of a customer. User text only ever reaches a
template as data in the context, never as template source. What still fails at run time (an
editor's data, a text grown too large) becomes the safe fallback text and an error, never an
exception out of the engine.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache, wraps
from string import Formatter
from typing import Any, Callable, Iterable, Iterator, Mapping, MutableMapping, Sized

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from triage.problems import did_you_mean

NAMES = ("params", "reference", "user", "vars", "input", "session", "now", "channel")
"""The names a template may read (spec section 4)."""

FIELDS: Mapping[str, tuple[str, ...]] = {
    "reference": ("extra", "bot", "bot_event"),
    "user": ("user_key", "returning", "sessions", "last_category"),
    "session": ("id", "category", "started_at"),
    "channel": ("name", "sender_key"),
}
"""The names whose shape is fixed, with their fields. The engine builds its context from this
very table, so loading can refuse a typo such as ``channel.nmae`` that would otherwise render
as blank text in front of a customer."""

_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    **{name: frozenset(fields) | frozenset(a for a in dir(dict) if not a.startswith("_"))
       for name, fields in FIELDS.items()},
    "now": frozenset(a for a in dir(datetime) if not a.startswith("_")),
}
"""What a template may read from a fixed name: its fields, and the methods of what it is
(``user.get('returning')``, ``now.strftime('%H:%M')``)."""

FALLBACK_TEXT = "죄송합니다. 잠시 문제가 생겼어요. 다시 한 번 말씀해 주세요."

MAX_RENDERED = 10_000
"""Ten bubbles (상담톡 takes 1,000 characters a bubble). A text longer than this is a template
gone wrong; refusing it as it grows keeps one reply from filling the bot's memory."""
_MAX_BITS = 3 * MAX_RENDERED
"""A number longer than a text may be (about 9,000 digits) is as much a mistake, and computing
one with ``*`` can take minutes."""
_MAX_POWER_BITS = 1_000
"""About 300 digits: no message needs a bigger number, and a power grows past any bound fast."""
_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})
"""String methods whose int arguments are how long the result is."""
_PRINTF_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0-9.*]*")
MAX_LOOP = 1_000
"""Items a ``range`` or a ``for`` loop may have: a chat text lists a few dozen things at most."""
MAX_STEPS = 10_000
"""Loop turns and calls one render may take. Rendering runs on the server's event loop, so a
template that spins (macros calling macros in loops) would stall every customer, not just one."""
MAX_DEPTH = 50
"""How deep macros may call each other, well short of Python's own recursion limit."""


class _Context(Context):
    """A render's context, which also counts what the render has spent, so the count starts
    afresh with every render and costs nothing for a template without loops or calls."""

    steps = 0
    depth = 0

    def spend(self, steps: int) -> None:
        self.steps += steps
        if self.steps > MAX_STEPS:
            raise SecurityError(f"the template took more than {MAX_STEPS:,} loop turns and calls")


class _Environment(SandboxedEnvironment):
    """Jinja's sandbox, made cheaper to render with and safe from texts that grow without bound.

    The rendered text is capped as it grows, but one call can build a huge string at once
    (``"a"|center(10**8)``, ``"{:>100000000}".format(1)``): widths and counts are checked before."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    """Jinja's sandbox bounds ``range`` but not ``'a' * 100000000``, which hangs the bot while
    it builds the string; these operators are sized before they run."""

    context_class = _Context

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals["range"] = _range
        self.filters["center"] = _widths_checked(self.filters["center"])
        self.filters["indent"] = _widths_checked(self.filters["indent"])
        self.filters["format"] = _printf_checked(self.filters["format"])

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """Jinja keeps a template's globals as a ChainMap over the environment's and copies them into
        every render's context key by key in Python: over half the cost of rendering a short text or
        evaluating a ``when``. Nothing changes the globals once content loads, so each template
        gets a plain dict of them instead."""
        return {**self.globals, **(d or {})}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if _too_big(operator, left, right):
            raise SecurityError(f'the result of "{operator}" would be too large for a text')
        return super().call_binop(context, operator, left, right)

    def call(__self, __context: _Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in _WIDTH_METHODS:
            _refuse_widths(args)
        __context.spend(1)
        if __context.depth >= MAX_DEPTH:
            raise SecurityError(f"macros call each other more than {MAX_DEPTH} deep")
        __context.depth += 1
        try:
            return super().call(__context, __obj, *args, **kwargs)
        finally:
            __context.depth -= 1

    @staticmethod
    def loop_items(context: _Context, items: Iterable[Any]) -> Iterator[Any]:
        """What every ``for`` loop iterates (see ``_counted_loops``): a loop turn is a step."""
        if isinstance(items, Sized) and len(items) > MAX_LOOP:
            raise SecurityError(f"a for loop over {len(items):,} items (templates loop over at most {MAX_LOOP:,})")
        for turn, item in enumerate(items, 1):
            if turn > MAX_LOOP:
                raise SecurityError(f"a for loop over more than {MAX_LOOP:,} items")
            context.spend(1)
            yield item

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is not None and _format_too_wide(value.__self__):
            raise SecurityError("a width in the format would make the text too long")
        return wrapped


def _range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_LOOP:
        raise SecurityError(f"range of {len(numbers):,} numbers (templates count to at most {MAX_LOOP:,})")
    return numbers


def _refuse_widths(args: Iterable[Any]) -> None:
    if any(_is_int(a) and a > MAX_RENDERED for a in args):
        raise SecurityError(f"a width over {MAX_RENDERED:,} would make the text too long")


def _widths_checked(text_filter: Callable[..., str]) -> Callable[..., str]:
    @wraps(text_filter)
    def checked(value: Any, *args: Any, **kwargs: Any) -> str:
        _refuse_widths((*args, *kwargs.values()))
        return text_filter(value, *args, **kwargs)
    return checked


def _printf_checked(text_filter: Callable[..., str]) -> Callable[..., str]:
    @wraps(text_filter)
    def checked(value: Any, *args: Any, **kwargs: Any) -> str:
        if isinstance(value, str) and _printf_too_wide(value):
            raise SecurityError("a width in the format would make the text too long")
        return text_filter(value, *args, **kwargs)
    return checked


def _printf_too_wide(fmt: str) -> bool:
    """``%100000000d``, or ``%*d`` whose width comes at run time: a format no message needs."""
    return any("*" in spec or _wider(spec) for spec in _PRINTF_SPEC.findall(fmt))


def _format_too_wide(fmt: str) -> bool:
    """``{:>100000000}``, or ``{:>{w}}`` whose width comes at run time."""
    try:
        specs = [spec for _, _, spec, _ in Formatter().parse(fmt) if spec]
    except ValueError:
        return False
    return any("{" in spec or _wider(spec) for spec in specs)


def _wider(spec: str) -> bool:
    return any(int(digits) > MAX_RENDERED for digits in re.findall(r"\d+", spec))


def _too_big(operator: str, left: Any, right: Any) -> bool:
    """Estimated from the operands, since computing the result is what would hang."""
    if _is_int(left) and _is_int(right):
        if operator == "**":
            return abs(left) > 1 and right > 0 and abs(left).bit_length() * right > _MAX_POWER_BITS
        return operator == "*" and abs(left).bit_length() + abs(right).bit_length() > _MAX_BITS
    if operator == "%":
        return isinstance(left, str) and _printf_too_wide(left)
    if operator == "*":
        items, times = (left, right) if _is_int(right) else (right, left)
        return _is_int(times) and _is_sized(items) and len(items) * times > MAX_RENDERED
    return operator == "+" and _is_sized(left) and _is_sized(right) and len(left) + len(right) > MAX_RENDERED


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _is_sized(value: Any) -> bool:
    return isinstance(value, (str, list, tuple))


_ENV = _Environment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Text:
    """A template an editor wrote, with where it was written.

    Loading only parses and checks the source; Jinja's code generation (five times the cost
    of parsing) waits for the first render and is shared by every text with the same source.
    The checks at load cover what code generation would refuse (unknown filters and tests),
    and ``render`` turns anything it still refuses into the fallback.
    """

    source: str
    line: int = 0

    @property
    def is_static(self) -> bool:
        return "{" not in self.source

    @property
    def compiled(self) -> Any:
        return None if self.is_static else _template(self.source)


@dataclass(frozen=True)
class Expr:
    """A ``when`` expression an editor wrote."""

    source: str
    line: int = 0

    @property
    def compiled(self) -> Any:
        return _expression(self.source)


@lru_cache(maxsize=8192)
def _template(source: str) -> Any:
    return _ENV.from_string(_counted_loops(_ENV.parse(source)))


def _counted_loops(ast: nodes.Template) -> nodes.Template:
    """Jinja's sandbox has no hook for a loop turn, so each loop iterates through one."""
    for loop in list(ast.find_all(nodes.For)):
        loop.iter = nodes.Call(nodes.EnvironmentAttribute("loop_items"), [nodes.ContextReference(), loop.iter],
                               [], None, None, lineno=loop.iter.lineno)
    return ast


@lru_cache(maxsize=8192)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


class TemplateProblem(ValueError):
    """Why a template cannot be compiled; the loader turns it into a file:line problem."""


@lru_cache(maxsize=8192)
def _check_source(source: str) -> None:
    """Parse and check once per distinct source; raises TemplateSyntaxError or TemplateProblem."""
    _check_ast(_ENV.parse(source))


def _check_ast(ast: nodes.Template) -> None:
    _check_filters(ast)
    _check_loops(ast)
    unknown = sorted(_undeclared(ast) - set(NAMES))
    if unknown:
        allowed = ", ".join(NAMES)
        raise TemplateProblem(f'unknown name "{unknown[0]}" (templates can use {allowed})')
    assigned = {node.name for node in ast.find_all(nodes.Name) if node.ctx != "load"}
    for node in ast.find_all(nodes.Getattr):
        if node.attr.startswith("_"):
            raise TemplateProblem(f'"{node.attr}" is a private attribute and cannot be read')
        if isinstance(node.node, nodes.Name) and node.node.name not in assigned:
            _check_field(node.node.name, node.attr)


def _check_filters(ast: nodes.Template) -> None:
    """Jinja looks filters and tests up only when it generates code, which loading skips
    (and which would fail only in front of a customer)."""
    for node in ast.find_all((nodes.Filter, nodes.Test)):
        kind, known = ("filter", _ENV.filters) if isinstance(node, nodes.Filter) else ("test", _ENV.tests)
        if node.name not in known:
            raise TemplateProblem(f'unknown {kind} "{node.name}"{did_you_mean(node.name, known)}')


def _check_loops(ast: nodes.Template) -> None:
    """A loop inside a loop multiplies, and a chat text never needs one: refused here rather than
    met as a stalled server. Render still bounds every loop (``MAX_LOOP``, ``MAX_STEPS``)."""
    for loop in ast.find_all(nodes.For):
        if loop.recursive:
            raise TemplateProblem("a recursive for loop (chat texts do not need one)")
        if next(loop.find_all(nodes.For), None) is not None:
            raise TemplateProblem("a for loop inside another for loop (chat texts do not need one)")
    for call in ast.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "range" and _literal_ints(call.args):
            try:
                _range(*(arg.value for arg in call.args))
            except SecurityError as exc:
                raise TemplateProblem(str(exc)) from exc


def _literal_ints(args: list[nodes.Expr]) -> bool:
    return bool(args) and all(isinstance(arg, nodes.Const) and _is_int(arg.value) for arg in args)


def _check_field(name: str, attr: str) -> None:
    """``vars`` and ``params`` hold what editors and links put there, so only fixed names are checked."""
    allowed = _ATTRIBUTES.get(name)
    if allowed is None or attr in allowed:
        return
    hint = did_you_mean(attr, FIELDS.get(name, allowed))
    if not hint and name in FIELDS:
        hint = f" ({name} has {', '.join(FIELDS[name])})"
    raise TemplateProblem(f'{name} has no field "{attr}"{hint}')


def _undeclared(ast: nodes.Template) -> set[str]:
    """The names a template reads from its context. Jinja's own analysis runs its compiler's
    scoping over the whole tree (most of the cost of loading a large site); it is needed only
    when some name read is not one of ours, since what is undeclared is always among the names read."""
    read = {node.name for node in ast.find_all(nodes.Name) if node.ctx == "load"}
    return read if read <= set(NAMES) else meta.find_undeclared_variables(ast)


@lru_cache(maxsize=8192)
def fields_read(source: str, name: str) -> frozenset[str]:
    """The fields of ``name`` a template reads (``vars.order_id``, ``vars['order_id']``), for
    checks that need the whole site to know whether anything ever defines them."""
    try:
        ast = _ENV.parse(source)
    except TemplateSyntaxError:  # already reported where the text was loaded
        return frozenset()
    read = set()
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        field = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(node.node, nodes.Name) and node.node.name == name and isinstance(field, str):
            read.add(field)
    return frozenset(read)


def compile_text(source: str, line: int = 0) -> Text:
    if not isinstance(source, str):
        source = str(source)
    if "{" not in source:
        return Text(source, line)
    try:
        _check_source(source)
        return Text(source, line)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error: {exc.message}") from exc


def compile_expr(source: str, line: int = 0) -> Expr:
    if not isinstance(source, str):
        source = str(source).lower() if isinstance(source, bool) else str(source)
    try:
        _check_source("{{ " + source + " }}")
        return Expr(source, line)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"expression syntax error: {exc.message}") from exc


def render(text: Text, context: Mapping[str, Any]) -> tuple[str, str | None]:
    """Render ``text``; on failure return the safe fallback and the error, never raise.
    Compiling happens here too (see ``Text``), so a template Jinja refuses is such a failure."""
    if text.is_static:
        return text.source, None
    try:
        return _bounded(text.compiled.generate(context)).strip("\n"), None
    except Exception as exc:  # an editor's filter or data can fail in any way
        return FALLBACK_TEXT, f"{type(exc).__name__}: {exc}"


def _bounded(chunks: Iterable[str]) -> str:
    """Stops a loop that prints without end as soon as the text is too long to send."""
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_RENDERED:
            raise SecurityError(f"the text would be longer than {MAX_RENDERED:,} characters")
        out.append(chunk)
    return "".join(out)


def evaluate(expr: Expr, context: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Evaluate ``expr`` to a truth value; an error counts as false and is reported."""
    try:
        return bool(expr.compiled(**context)), None
    except Exception as exc:  # see render()
        return False, f"{type(exc).__name__}: {exc}"


_PLACEHOLDER = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)


def static_length(source: str) -> int:
    """Length of the text an editor wrote, not counting template markup."""
    return len(_PLACEHOLDER.sub("", source))
