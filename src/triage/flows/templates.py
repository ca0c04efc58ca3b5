"""Editors' templates and expressions, in Jinja2's sandbox.

Compiled once when content loads, so syntax errors and unknown names surface in
``triage validate`` and never in front of a customer. User text only ever reaches a
template as data in the context, never as template source.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Mapping, MutableMapping

from jinja2 import ChainableUndefined, TemplateSyntaxError, meta, nodes
from jinja2.sandbox import SandboxedEnvironment

NAMES = ("params", "reference", "user", "vars", "input", "session", "now", "channel")
"""The names a template may read (spec section 4)."""

FALLBACK_TEXT = "죄송합니다. 잠시 문제가 생겼어요. 다시 한 번 말씀해 주세요."


class _Environment(SandboxedEnvironment):
    """Jinja keeps a template's globals as a ChainMap over the environment's and copies them into
    every render's context key by key in Python: over half the cost of rendering a short text or
    evaluating a ``when``. Nothing changes the globals once content loads, so each template
    gets a plain dict of them instead."""

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


_ENV = _Environment(undefined=ChainableUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class Text:
    """A template an editor wrote, with where it was written.

    Loading only parses and checks the source; Jinja's code generation (five times the cost
    of parsing) waits for the first render and is shared by every text with the same source.
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
    return _ENV.from_string(source)


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
    unknown = sorted(_undeclared(ast) - set(NAMES))
    if unknown:
        allowed = ", ".join(NAMES)
        raise TemplateProblem(f'unknown name "{unknown[0]}" (templates can use {allowed})')
    for node in ast.find_all((nodes.Getattr,)):
        if node.attr.startswith("_"):
            raise TemplateProblem(f'"{node.attr}" is a private attribute and cannot be read')


def _undeclared(ast: nodes.Template) -> set[str]:
    """The names a template reads from its context. Jinja's own analysis runs its compiler's
    scoping over the whole tree (most of the cost of loading a large site); it is needed only
    when some name read is not one of ours, since what is undeclared is always among the names read."""
    read = {node.name for node in ast.find_all(nodes.Name) if node.ctx == "load"}
    return read if read <= set(NAMES) else meta.find_undeclared_variables(ast)


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
    """Render ``text``; on failure return the safe fallback and the error, never raise."""
    if text.compiled is None:
        return text.source, None
    try:
        return text.compiled.render(context).strip("\n"), None
    except Exception as exc:  # an editor's filter or data can fail in any way
        return FALLBACK_TEXT, f"{type(exc).__name__}: {exc}"


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
