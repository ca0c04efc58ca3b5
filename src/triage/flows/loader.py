"""Flow files -> model objects, collecting every structural problem with its line.

Structural means: what one file says on its own (keys, kinds, types, template syntax).
Cross-references (targets, queues, reachability) are ``validate.py``'s job, on the model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from triage.flows import model
from triage.flows.model import Ask, Button, Case, Check, Consent, End, Faq, Flow, FlowSet, Goto, Handoff, Link, Node, Route, Say
from triage.flows.templates import Expr, TemplateProblem, Text, compile_expr, compile_text
from triage.problems import Problem, did_you_mean
from triage.yamlmarks import MarkedDict, line_of, read_yaml

FLOW_KEYS = ("flow", "description", "start", "routes", "keywords", "fallback", "max_misses", "on_max_misses", "nodes")
ENTRY_ONLY_KEYS = ("start", "routes")
COMMON_KEYS = ("set", "category", "tags", "description")
KIND_KEYS: dict[str, tuple[str, ...]] = {
    "say": ("image", "links", "buttons", "goto", "on_text"),
    "ask": ("save", "validate", "retry", "max_tries", "on_fail", "goto", "pii"),
    "check": ("else",),
    "faq": ("found", "not_found"),
    "handoff": ("closed",),
    "end": (),
    "goto": (),
    "consent": ("agree", "decline", "agree_label", "decline_label"),
}
HANDOFF_KEYS = ("queue", "priority", "skills", "summary", "message", "offline")
FAQ_KEYS = ("category",)
ROUTE_KEYS = ("when", "goto", "category", "tags")
CASE_KEYS = ("when", "goto")
BUTTON_KEYS = ("label", "goto", "set")
LINK_KEYS = ("label", "url")


class FileLoader:
    """Loads one flow file; problems accumulate in ``self.problems``."""

    def __init__(self, path: str, flow_id: str):
        self.path = path
        self.flow_id = flow_id
        self.problems: list[Problem] = []

    def problem(self, container: Any, key: Any, message: str, severity: str = "error") -> None:
        self.problems.append(Problem(self.path, line_of(container, key), message, severity))  # type: ignore[arg-type]

    def unknown_keys(self, data: Mapping, allowed: Iterable[str], where: str) -> None:
        allowed = tuple(allowed)
        for key in data:
            if key not in allowed:
                self.problem(data, key, f'unknown key "{key}" in {where}{did_you_mean(str(key), allowed)}')

    def target(self, value: Any, container: Any, key: Any) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(container, key, f'"{key}" must name a node')
            return None
        value = value.strip()
        return value if "." in value else f"{self.flow_id}.{value}"

    def text(self, value: Any, container: Any, key: Any, name: str | None = None) -> Text | None:
        """``name`` is the key an editor sees when ``key`` is a list index."""
        if value is None:
            return None
        if isinstance(value, (dict, list)):
            self.problem(container, key, f'"{name or key}" must be text')
            return None
        try:
            return compile_text(str(value), line_of(container, key))
        except TemplateProblem as exc:
            self.problem(container, key, str(exc))
            return Text(str(value), line_of(container, key))

    def expr(self, value: Any, container: Any, key: Any) -> Expr | None:
        if value is None or isinstance(value, (dict, list)):
            self.problem(container, key, f'"{key}" must be an expression such as params.topic == "order"')
            return None
        try:
            return compile_expr(value if isinstance(value, str) else str(value), line_of(container, key))
        except TemplateProblem as exc:
            self.problem(container, key, str(exc))
            return None

    def mapping(self, value: Any, container: Any, key: Any, what: str) -> Mapping:
        if value is None:
            return MarkedDict()
        if not isinstance(value, dict):
            self.problem(container, key, f'"{key}" must be a mapping ({what})')
            return MarkedDict()
        return value

    def items(self, value: Any, container: Any, key: Any, what: str) -> list[tuple[int, Mapping]]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(container, key, f'"{key}" must be a list of {what}')
            return []
        good = []
        for i, item in enumerate(value):
            if isinstance(item, dict):
                good.append((i, item))
            else:
                self.problem(value, i, f"each item of {key} must be a mapping ({what})")
        return good

    def strings(self, value: Any, container: Any, key: Any) -> tuple[str, ...]:
        if value is None:
            return ()
        if isinstance(value, str):
            return (value,)
        if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
            self.problem(container, key, f'"{key}" must be a list of words')
            return ()
        return tuple(str(v) for v in value)

    def integer(self, value: Any, container: Any, key: Any, minimum: int = 1) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.problem(container, key, f'"{key}" must be a whole number of at least {minimum}')
            return None
        return value

    def flag(self, value: Any, container: Any, key: Any) -> bool:
        if value is None:
            return False
        if not isinstance(value, bool):
            self.problem(container, key, f'"{key}" must be true or false')
            return False
        return value

    def set_values(self, value: Any, container: Any, key: Any) -> dict[str, Text]:
        data = self.mapping(value, container, key, "variable: value")
        result = {}
        for name, raw in data.items():
            if not isinstance(name, str) or not name.isidentifier():
                self.problem(data, name, f'"{name}" is not a valid variable name')
                continue
            text = self.text(raw if raw is not None else "", data, name)
            if text is not None:
                result[name] = text
        return result

    # ---- flow level ------------------------------------------------------------------

    def load(self, data: Any) -> Flow | None:
        if not isinstance(data, dict):
            kind = "a list" if isinstance(data, list) else "plain text" if isinstance(data, str) else "not a mapping"
            self.problems.append(Problem(self.path, getattr(data, "line", 1) or 1,
                                         f"a flow file must be a mapping with nodes:, but this is {kind}"))
            return None
        self.unknown_keys(data, FLOW_KEYS, "the flow")
        if "flow" in data:
            if isinstance(data["flow"], str) and data["flow"].strip() and "." not in data["flow"]:
                self.flow_id = data["flow"].strip()
            else:
                self.problem(data, "flow", '"flow" must be a name without dots')
        raw_nodes = self.mapping(data.get("nodes"), data, "nodes", "node name: node")
        if not raw_nodes:
            self.problem(data, "nodes", "the flow has no nodes")
        nodes: dict[str, Node] = {}
        for name, spec in raw_nodes.items():
            node = self.node(str(name), spec, raw_nodes)
            if node is not None:
                nodes[node.id] = node
        keywords = {}
        kw = self.mapping(data.get("keywords"), data, "keywords", "keyword: node")
        for word, target in kw.items():
            resolved = self.target(target, kw, word)
            if resolved:
                keywords[str(word)] = resolved
        routes = []
        for i, item in self.items(data.get("routes"), data, "routes", "when/goto"):
            self.unknown_keys(item, ROUTE_KEYS, "a route")
            when = self.expr(item.get("when"), item, "when")
            goto = self.target(item.get("goto"), item, "goto")
            if goto is None and "goto" not in item:
                self.problem(item, "when", "a route needs a goto")
            if when and goto:
                category = item.get("category")
                routes.append(Route(when, goto, str(category) if category is not None else None,
                                    self.strings(item.get("tags"), item, "tags"), line_of(data["routes"], i)))
        lines = dict(data.key_lines) if isinstance(data, MarkedDict) else {}
        return Flow(
            id=self.flow_id, file=self.path, line=getattr(data, "line", 1),
            start=self.target(data.get("start"), data, "start"), routes=tuple(routes), keywords=keywords,
            fallback=self.target(data.get("fallback"), data, "fallback"),
            max_misses=self.integer(data.get("max_misses"), data, "max_misses"),
            on_max_misses=self.target(data.get("on_max_misses"), data, "on_max_misses"),
            nodes=nodes, lines=lines,
            keyword_lines={str(word): line_of(kw, word) for word in kw},
        )

    # ---- node level ------------------------------------------------------------------

    def node(self, name: str, spec: Any, parent: Mapping) -> Node | None:
        if "." in name or not name.strip():
            self.problem(parent, name, f'node name "{name}" must not be empty or contain dots')
            return None
        if not isinstance(spec, dict):
            self.problem(parent, name, f'node "{name}" must be a mapping with one kind ({", ".join(KIND_KEYS)})')
            return None
        kinds = [k for k in spec if k in KIND_KEYS]
        if len(kinds) == 2 and "goto" in kinds:
            other = kinds[0] if kinds[1] == "goto" else kinds[1]
            if "goto" in KIND_KEYS[other]:
                kinds = [other]
        if len(kinds) != 1:
            if kinds:
                message = f'node "{name}" has two kinds: {" and ".join(kinds)}; a node has exactly one'
            else:
                message = f'node "{name}" has no kind: give it one of {", ".join(KIND_KEYS)}'
            self.problem(parent, name, message)
            self.unknown_keys(spec, (*KIND_KEYS, *COMMON_KEYS, *{k for ks in KIND_KEYS.values() for k in ks}),
                              f'node "{name}"')
            return None
        kind = kinds[0]
        self.unknown_keys(spec, (kind, *COMMON_KEYS, *KIND_KEYS[kind]), f'{kind} node "{name}"')
        category = spec.get("category")
        common = dict(
            id=f"{self.flow_id}.{name}", file=self.path, line=line_of(parent, name),
            set=self.set_values(spec.get("set"), spec, "set"),
            category=str(category) if category is not None else None,
            tags=self.strings(spec.get("tags"), spec, "tags"),
            lines=dict(spec.key_lines) if isinstance(spec, MarkedDict) else {},
        )
        builder: Callable[[Mapping, dict], Node | None] = getattr(self, f"_{kind}")
        return builder(spec, common)

    def required_target(self, spec: Mapping, key: str, kind: str) -> str | None:
        if spec.get(key) is None:
            self.problem(spec, kind, f'a {kind} node needs "{key}"')
            return None
        return self.target(spec.get(key), spec, key)

    def _say(self, spec: Mapping, common: dict) -> Node | None:
        raw = spec.get("say")
        pieces = raw if isinstance(raw, list) else [raw]
        texts = []
        for i, piece in enumerate(pieces):
            holder = raw if isinstance(raw, list) else spec
            text = self.text(piece if piece is not None else "", holder, i if isinstance(raw, list) else "say", "say")
            if text is not None:
                texts.append(text)
        buttons = []
        for i, item in self.items(spec.get("buttons"), spec, "buttons", "label/goto"):
            self.unknown_keys(item, BUTTON_KEYS, "a button")
            label = item.get("label")
            if not isinstance(label, (str, int)) or not str(label).strip():
                self.problem(item, "label", "a button needs a label")
                continue
            goto = self.target(item.get("goto"), item, "goto")
            if goto is None:
                self.problem(item, "label", f'button "{label}" needs a goto')
                continue
            buttons.append(Button(str(label).strip(), goto, self.set_values(item.get("set"), item, "set"),
                                  line_of(spec["buttons"], i)))
        links = self.links(spec)
        image = self.text(spec.get("image"), spec, "image")
        goto = self.target(spec.get("goto"), spec, "goto")
        if buttons and goto:
            self.problem(spec, "goto", "a say node with buttons waits for a choice, so it cannot also have goto")
        return Say(texts=tuple(texts), image=image, links=links, buttons=tuple(buttons), goto=goto,
                   on_text=self.target(spec.get("on_text"), spec, "on_text"), **common)

    def links(self, spec: Mapping) -> tuple[Link, ...]:
        links = []
        for i, item in self.items(spec.get("links"), spec, "links", "label/url"):
            self.unknown_keys(item, LINK_KEYS, "a link")
            label, url = item.get("label"), self.text(item.get("url"), item, "url")
            if not isinstance(label, str) or not label.strip() or url is None:
                self.problem(item, "label", "a link needs a label and a url")
                continue
            links.append(Link(label.strip(), url, line_of(spec["links"], i)))
        return tuple(links)

    def _ask(self, spec: Mapping, common: dict) -> Node | None:
        prompt = self.text(spec.get("ask"), spec, "ask")
        save = spec.get("save")
        if not isinstance(save, str) or not save.isidentifier():
            self.problem(spec, "save" if "save" in spec else "ask", 'an ask node needs "save": a variable name')
            save = None
        validate = spec.get("validate")
        if validate is not None and (not isinstance(validate, str) or (
                validate not in model.VALIDATORS and not validate.startswith("regex:"))):
            self.problem(spec, "validate", f'unknown validator "{validate}" (use {", ".join(model.VALIDATORS)} '
                                           f'or regex:...){did_you_mean(str(validate), model.VALIDATORS)}')
            validate = None
        if isinstance(validate, str) and validate.startswith("regex:"):
            try:
                re.compile(validate[6:])
            except re.error as exc:
                self.problem(spec, "validate", f"invalid regular expression: {exc}")
        goto = self.required_target(spec, "goto", "ask")
        max_tries = self.integer(spec.get("max_tries"), spec, "max_tries")
        if prompt is None or save is None or goto is None:
            return None
        return Ask(prompt=prompt, save=save, goto=goto, validate=validate,
                   retry=self.text(spec.get("retry"), spec, "retry"), max_tries=max_tries or 3,
                   on_fail=self.target(spec.get("on_fail"), spec, "on_fail"),
                   pii=self.flag(spec.get("pii"), spec, "pii"), **common)

    def _check(self, spec: Mapping, common: dict) -> Node | None:
        cases = []
        for i, item in self.items(spec.get("check"), spec, "check", "when/goto"):
            self.unknown_keys(item, CASE_KEYS, "a check case")
            when, goto = self.expr(item.get("when"), item, "when"), self.target(item.get("goto"), item, "goto")
            if goto is None and "goto" not in item:
                self.problem(item, "when", "a check case needs a goto")
            if when and goto:
                cases.append(Case(when, goto, line_of(spec["check"], i)))
        else_ = self.required_target(spec, "else", "check")
        return Check(cases=tuple(cases), else_=else_, **common) if else_ else None

    def _faq(self, spec: Mapping, common: dict) -> Node | None:
        options = self.mapping(spec.get("faq"), spec, "faq", "category: ...")
        self.unknown_keys(options, FAQ_KEYS, "faq")
        category = options.get("category")
        found = self.required_target(spec, "found", "faq")
        not_found = self.required_target(spec, "not_found", "faq")
        if not (found and not_found):
            return None
        return Faq(found=found, not_found=not_found,
                   faq_category=str(category) if category is not None else None, **common)

    def _handoff(self, spec: Mapping, common: dict) -> Node | None:
        raw = spec.get("handoff")
        options = MarkedDict(queue=raw) if isinstance(raw, str) else self.mapping(raw, spec, "handoff", "queue: ...")
        self.unknown_keys(options, HANDOFF_KEYS, "handoff")
        queue = options.get("queue") or "general"
        if not isinstance(queue, str):
            self.problem(options, "queue", '"queue" must be the name of a queue in triage.yaml')
            queue = "general"
        priority = str(options.get("priority", "normal"))
        if priority not in model.PRIORITIES:
            self.problem(options, "priority", f'priority must be one of {", ".join(model.PRIORITIES)}'
                                              f'{did_you_mean(priority, model.PRIORITIES)}')
            priority = "normal"
        offline = options.get("offline", False)
        if not isinstance(offline, bool):
            self.problem(options, "offline", '"offline" must be true or false')
            offline = False
        return Handoff(offline=offline, queue=queue.strip(), priority=priority, skills=self.strings(options.get("skills"), options, "skills"),
                       summary=self.text(options.get("summary"), options, "summary"),
                       message=self.text(options.get("message"), options, "message"),
                       closed=self.target(spec.get("closed"), spec, "closed"), **common)

    def _end(self, spec: Mapping, common: dict) -> Node | None:
        return End(text=self.text(spec.get("end"), spec, "end"), **common)

    def _goto(self, spec: Mapping, common: dict) -> Node | None:
        target = self.target(spec.get("goto"), spec, "goto")
        return Goto(target=target, **common) if target else None

    def _consent(self, spec: Mapping, common: dict) -> Node | None:
        text = self.text(spec.get("consent"), spec, "consent")
        agree = self.required_target(spec, "agree", "consent")
        decline = self.required_target(spec, "decline", "consent")
        if not (text and agree and decline):
            return None
        labels = {k: str(spec[k]) for k in ("agree_label", "decline_label") if spec.get(k)}
        return Consent(text=text, agree=agree, decline=decline, **labels, **common)


def flow_files(paths: Iterable[Path]) -> list[Path]:
    """Expand directories to their ``*.yaml``/``*.yml`` files, sorted for stable output."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml") and not p.name.startswith("_")))
        else:
            files.append(path)
    return files


def display_path(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return str(path.resolve().relative_to(root.resolve()))
        except ValueError:
            pass
    return str(path)


def load_flows(paths: Iterable[Path], entry: str = "main", root: Path | None = None) -> tuple[FlowSet | None, list[Problem]]:
    """Load flow files into one FlowSet; ``None`` only when nothing usable was found."""
    problems: list[Problem] = []
    flows: dict[str, Flow] = {}
    unloaded: set[str] = set()
    files = flow_files(paths)
    if not files:
        where = ", ".join(str(p) for p in paths) or "."
        return None, [Problem(where, 1, "no flow files found (expected *.yaml files with nodes:)")]
    for file in files:
        shown = display_path(file, root)
        data, file_problems = read_yaml(file, shown)
        problems.extend(file_problems)
        if data is None and file_problems:
            unloaded.add(file.stem)
            continue
        loader = FileLoader(shown, file.stem)
        flow = loader.load(data)
        problems.extend(loader.problems)
        if flow is None:
            unloaded.add(file.stem)
            continue
        if flow.id in flows:
            other = flows[flow.id]
            problems.append(Problem(shown, flow.line_of("flow"), f'duplicate flow id "{flow.id}" '
                                                                f"(also in {other.file}:{other.line_of('flow')})"))
            continue
        flows[flow.id] = flow
    if not flows:
        return None, problems
    return assemble(flows, entry, problems, frozenset(unloaded - flows.keys()))


def assemble(flows: dict[str, Flow], entry: str, problems: list[Problem],
             unloaded: frozenset[str] = frozenset()) -> tuple[FlowSet | None, list[Problem]]:
    """Join loaded flows: pick the entry flow and merge global keywords."""
    if entry in unloaded:
        return None, problems
    if entry not in flows:
        if len(flows) == 1 and entry == "main":
            entry = next(iter(flows))
        else:
            first = next(iter(flows.values()))
            problems.append(Problem(first.file, 1, f'there is no entry flow "{entry}"{did_you_mean(entry, flows)} '
                                                  f"(name one flow main, or set entry_flow in triage.yaml)"))
            return None, problems
    for flow in flows.values():
        if flow.id != entry:
            for key in ENTRY_ONLY_KEYS:
                if key in flow.lines:
                    problems.append(Problem(flow.file, flow.line_of(key), f'"{key}" belongs to the entry flow '
                                                                          f'"{entry}", not to flow "{flow.id}"'))
    keywords: dict[str, str] = {}
    owner: dict[str, Flow] = {}
    for flow in flows.values():
        for word, target in flow.keywords.items():
            if word in keywords:
                first = owner[word]
                problems.append(Problem(flow.file, flow.line_of_keyword(word), f'keyword "{word}" is defined twice '
                                        f"(also in {first.file}:{first.line_of_keyword(word)})"))
                continue
            keywords[word], owner[word] = target, flow
    nodes = {node_id: node for flow in flows.values() for node_id, node in flow.nodes.items()}
    return FlowSet(flows=flows, entry=entry, nodes=nodes, keywords=keywords, unloaded=unloaded), problems
