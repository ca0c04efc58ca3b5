"""Rules that need the whole site: every flow, triage.yaml's queues and the FAQ's categories.

The loader already reported what each file gets wrong on its own. What is left can only be
judged across files (a target in another flow, a queue in triage.yaml), or by walking the
graph (unreachable nodes, loops that never wait). Each rule is one function returning
Problems, so a rule reads alone and ``validate`` is just their sum.

Decisions the spec leaves open:

- When triage.yaml defines no queues at all, the one implicit queue is ``general``, so a
  site with no settings file still validates; once queues are defined, only those exist.
- A ``say`` node without buttons, ``goto`` or ``on_text`` is a dead end (a warning) only when
  neither a ``fallback`` nor an ``on_max_misses`` applies to it: then whatever the user types
  repeats the same node forever. Global keywords do not count; users do not know them.
- A ``faq`` node counts as not waiting: it answers the last free text at once.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping, Protocol

from triage.faq.model import FaqEntry
from triage.flows.choices import fold_keyword
from triage.flows.graph import Reference, references
from triage.flows.loader import display_path
from triage.flows.model import Ask, Check, Consent, End, Faq, Flow, FlowSet, Goto, Handoff, Node, Say
from triage.flows.templates import Expr, Text, fields_read, static_length
from triage.kakao.media import local_image_problem
from triage.kakao.protocol import label_problem, url_problem
from triage.kakao.render import is_local_image
from triage.problems import Problem, did_you_mean
from triage.settings import Settings
from triage.yamlmarks import line_of

MAX_LINKS = 5
MAX_BUTTONS = 10
MAX_TEXT = 1000
"""Kakao's limits: link buttons and quick replies per message, message length."""
IMPLICIT_QUEUE = "general"


class FaqEntries(Protocol):
    entries: Mapping[str, FaqEntry]


@dataclass(frozen=True)
class Site:
    """What the rules know besides the flows: the names other files define."""

    flows: FlowSet
    queues: frozenset[str]
    categories: frozenset[str]
    queues_defined: bool
    notice: Notice | None = None
    faq_images: frozenset[str] = frozenset()
    """Categories with an active FAQ entry that answers with an image first."""
    root: Path = Path(".")
    """The content root, where images written as a path (``images/size-guide.png``) live."""
    faq_entries: tuple[FaqEntry, ...] = ()


@dataclass(frozen=True)
class Notice:
    """triage.yaml's ``privacy.notice``, with where it is written."""

    text: str
    file: str
    line: int


def validate(flows: FlowSet, settings: Settings, faq: FaqEntries) -> list[Problem]:
    site = Site(
        flows=flows,
        queues=frozenset(settings.queues) or frozenset({IMPLICIT_QUEUE}),
        categories=frozenset(e.category for e in faq.entries.values() if e.active),
        queues_defined=bool(settings.queues),
        notice=_notice(settings),
        faq_images=frozenset(e.category for e in faq.entries.values() if e.active and e.image is not None),
        root=settings.root,
        faq_entries=tuple(faq.entries.values()),
    )
    return [problem for rule in RULES for problem in rule(site)]


def _nodes(site: Site) -> Iterable[Node]:
    return site.flows.nodes.values()


def _as_written(target: str, flow: str) -> str:
    """Targets are stored qualified; show them bare where the editor could write them bare."""
    owner, name = target.rsplit(".", 1)
    return name if owner == flow else target


# ---- targets ----------------------------------------------------------------------------

def missing_targets(site: Site) -> list[Problem]:
    """A target in a file that could not be read is not reported: that file's own error is the
    one to fix, and "this flow does not exist" would send the editor to the wrong file."""
    unloaded = site.flows.unloaded
    return [Problem(ref.file, ref.line, _missing_message(ref, site.flows))
            for ref in references(site.flows)
            if ref.target not in site.flows.nodes and ref.target.rsplit(".", 1)[0] not in unloaded]


def _missing_message(ref: Reference, flows: FlowSet) -> str:
    written = _as_written(ref.target, ref.flow)
    subject = f'keyword "{ref.label}" goes to "{written}", which' if ref.key == "keywords" else f'{ref.key} "{written}"'
    owner = ref.target.rsplit(".", 1)[0]
    choices = [*flows.nodes, *(_as_written(n, ref.flow) for n in flows.nodes)]
    if written in flows.flows:
        first = _first_node(flows.flows[written])
        hint = f' (did you mean "{first}"?)' if first else ""
        return f"{subject} names a flow, not a node: write flow.node{hint}"
    if owner not in flows.flows:
        return f'{subject} names a flow "{owner}" that does not exist{did_you_mean(written, choices)}'
    return f'{subject} names no node of flow "{owner}"{did_you_mean(written, choices)}'


def _first_node(flow: Flow) -> str | None:
    return flow.start or next(iter(flow.nodes), None)


def entry_without_start(site: Site) -> list[Problem]:
    entry = site.flows.entry_flow
    if entry.start is not None or "start" in entry.lines:
        return []
    return [Problem(entry.file, entry.line, f'the entry flow "{entry.id}" needs "start": '
                                            f"the node a new session begins at when no route matches")]


# ---- Kakao's limits ---------------------------------------------------------------------

def too_many_choices(site: Site) -> list[Problem]:
    problems = []
    for node in _nodes(site):
        if isinstance(node, Say) and len(node.links) > MAX_LINKS:
            problems.append(Problem(node.file, node.line_of("links"),
                                    f"{len(node.links)} links, but 상담톡 shows at most {MAX_LINKS} per message"))
        if isinstance(node, Say) and len(node.buttons) > MAX_BUTTONS:
            problems.append(Problem(node.file, node.line_of("buttons"),
                                    f"{len(node.buttons)} buttons, but 상담톡 shows at most {MAX_BUTTONS} per message"))
    return problems


def _user_texts(node: Node) -> tuple[Text | None, ...]:
    """The texts a user reads, each at most one 상담톡 message."""
    match node:
        case Say():
            return node.texts
        case Ask():
            return (node.prompt, node.retry)
        case Handoff():
            return (node.message,)
        case End():
            return (node.text,)
        case Consent():
            return (node.text,)
        case _:
            return ()


def texts_too_long(site: Site) -> list[Problem]:
    return [Problem(node.file, text.line or node.line,
                    f"this text has {static_length(text.source)} characters; 상담톡 sends at most {MAX_TEXT}")
            for node in _nodes(site) for text in _user_texts(node)
            if text is not None and static_length(text.source) > MAX_TEXT]


def _labels(node: Node) -> list[tuple[str, int]]:
    """Every button label the user sees on a node, with its line."""
    match node:
        case Say():
            return [(b.label, b.line) for b in node.buttons] + [(link.label, link.line) for link in node.links]
        case Consent():
            return [(node.agree_label, node.line_of("agree_label")), (node.decline_label, node.line_of("decline_label"))]
        case _:
            return []


def written_url_problem(url: Text) -> str | None:
    """A templated URL is only known once rendered, so only URLs written out in full are checked."""
    return url_problem(url.source) if url.is_static else None


def labels_too_long(site: Site) -> list[Problem]:
    return [Problem(node.file, line or node.line, message)
            for node in _nodes(site) for label, line in _labels(node)
            if (message := label_problem(label)) is not None]


def written_image_problem(image: Text) -> str | None:
    """An image is an address or, without a scheme, a file in the content root (``local_images``)."""
    return None if is_local_image(image.source) else written_url_problem(image)


def _urls(node: Node) -> list[tuple[Text, Callable[[Text], str | None]]]:
    if not isinstance(node, Say):
        return []
    links = [(link.url, written_url_problem) for link in node.links]
    return links + ([(node.image, written_image_problem)] if node.image is not None else [])


def bad_urls(site: Site) -> list[Problem]:
    return [Problem(node.file, url.line or node.line, message)
            for node in _nodes(site) for url, check in _urls(node) if (message := check(url)) is not None]


def local_images(site: Site) -> list[Problem]:
    """Content-root images written out in full must exist inside the root and be images 상담톡
    takes; a templated one is only known when sent, and delivery checks it then."""
    written = [(node.file, node.line, node.image) for node in _nodes(site) if isinstance(node, Say)]
    written += [(entry.file, entry.line, entry.image) for entry in site.faq_entries]
    local = [(file, image.line or line, image.source) for file, line, image in written
             if image is not None and image.is_static and is_local_image(image.source)]
    problems = {name: local_image_problem(site.root, name) for _, _, name in local}
    return [Problem(file, line, message) for file, line, name in local if (message := problems[name]) is not None]


def duplicate_labels(site: Site) -> list[Problem]:
    """A pressed button arrives as its label, so two equal labels cannot be told apart."""
    problems = []
    for node in _nodes(site):
        seen: dict[str, int] = {}
        for label, line in _labels(node):
            if label in seen:
                problems.append(Problem(node.file, line or node.line, f'two buttons are labelled "{label}" '
                                                                      f"(also line {seen[label]}); a press could "
                                                                      f"not tell them apart"))
            seen.setdefault(label, line)
    return problems


def buttons_taken_by_keywords(site: Site) -> list[Problem]:
    """A pressed button arrives as its label, and the engine reads global keywords before a
    node's buttons: a button labelled like a keyword that leads elsewhere is never followed."""
    flows = site.flows
    keywords = {fold_keyword(word): word for word in flows.keywords}
    problems = []
    for node in _nodes(site):
        for button in node.buttons if isinstance(node, Say) else ():
            word = keywords.get(fold_keyword(button.label))
            if word is None or flows.keywords[word] == button.goto:
                continue
            owner = next(flow for flow in flows.flows.values() if word in flow.keywords)
            problems.append(Problem(node.file, button.line or node.line,
                                    f'button "{button.label}" is also the global keyword "{word}" '
                                    f"({owner.file}:{owner.line_of_keyword(word)}), and keywords come first: "
                                    f'pressing it goes to "{_as_written(flows.keywords[word], node.flow)}", '
                                    f'not "{_as_written(button.goto, node.flow)}"; rename the label, or point '
                                    f"the button and the keyword at the same node", "warning"))
    return problems


# ---- the graph --------------------------------------------------------------------------

def _entry_points(flows: FlowSet) -> set[str]:
    entry = flows.entry_flow
    points = {entry.start, *(r.goto for r in entry.routes), *flows.keywords.values()}
    points |= {t for f in flows.flows.values() for t in (f.fallback, f.on_max_misses)}
    return {p for p in points if p is not None}


def _reachable(flows: FlowSet, roots: Iterable[str], moves: Callable[[Node], Iterable[str]]) -> set[str]:
    seen: set[str] = set()
    todo = deque(r for r in roots if r in flows.nodes)
    while todo:
        node_id = todo.popleft()
        if node_id not in seen:
            seen.add(node_id)
            todo.extend(t for t in moves(flows.nodes[node_id]) if t in flows.nodes)
    return seen


def unreachable_nodes(site: Site) -> list[Problem]:
    reached = _reachable(site.flows, _entry_points(site.flows), lambda node: node.targets())
    return [Problem(node.file, node.line, f'node "{node.name}" is never reached: no route, keyword, button '
                                          f"or goto leads to it", "warning")
            for node in _nodes(site) if node.id not in reached]


def moves_without_waiting(node: Node) -> tuple[str, ...]:
    """Where a node goes on its own, before the user says anything."""
    match node:
        case Say():
            return (node.goto,) if node.goto else ()
        case Ask() | Consent():
            return ()
        case _:
            return node.targets()


def loops_without_waiting(site: Site) -> list[Problem]:
    """A cycle of moves that never wait would spin until the engine's step guard stops it."""
    flows = site.flows
    problems = []
    for loop in _cycles(flows, moves_without_waiting):
        at = flows.nodes[loop[0]]
        path = " -> ".join(_as_written(n, at.flow) for n in loop)
        problems.append(Problem(at.file, at.line, f"these nodes loop without ever waiting for the user: {path}"))
    return problems


def _cycles(flows: FlowSet, moves: Callable[[Node], Iterable[str]]) -> list[list[str]]:
    """One cycle per strongly connected group, starting and ending at its first-written node."""
    cycles = []
    for group in _strongly_connected(flows, moves):
        first = min(group, key=lambda n: (flows.nodes[n].file, flows.nodes[n].line))
        path = _path_back(flows, first, group, moves)
        if path:
            cycles.append(path)
    return cycles


def _path_back(flows: FlowSet, start: str, group: set[str], moves: Callable[[Node], Iterable[str]]) -> list[str]:
    """The shortest walk from ``start`` back to itself inside ``group``; [] when there is none."""
    came_from: dict[str, str] = {}
    todo = deque([start])
    while todo:
        node_id = todo.popleft()
        for nxt in moves(flows.nodes[node_id]):
            if nxt == start:
                path = [node_id]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [*reversed(path), start]
            if nxt in group and nxt not in came_from:
                came_from[nxt] = node_id
                todo.append(nxt)
    return []


def _strongly_connected(flows: FlowSet, moves: Callable[[Node], Iterable[str]]) -> list[set[str]]:
    """Tarjan's algorithm without recursion, so a long chain of gotos cannot hit the stack limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []
    for root in flows.nodes:
        if root in index:
            continue
        work = [(root, iter([t for t in moves(flows.nodes[root]) if t in flows.nodes]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node_id, successors = work[-1]
            nxt = next(successors, None)
            if nxt is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node_id])
                if low[node_id] == index[node_id]:
                    group = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        group.add(member)
                        if member == node_id:
                            break
                    groups.append(group)
            elif nxt not in index:
                index[nxt] = low[nxt] = len(index)
                stack.append(nxt)
                on_stack.add(nxt)
                work.append((nxt, iter([t for t in moves(flows.nodes[nxt]) if t in flows.nodes])))
            elif nxt in on_stack:
                low[node_id] = min(low[node_id], index[nxt])
    return groups


def dead_ends(site: Site) -> list[Problem]:
    flows = site.flows
    return [Problem(node.file, node.line, f'say node "{node.name}" waits for the user but has no buttons, goto '
                                          f"or on_text, and no fallback or on_max_misses applies: whatever the "
                                          f"user types repeats it", "warning")
            for node in _nodes(site)
            if isinstance(node, Say) and not (node.buttons or node.goto or node.on_text)
            and flows.fallback_for(node.id) is None and flows.on_max_misses_for(node.id) is None]


def max_misses_without_target(site: Site) -> list[Problem]:
    entry = site.flows.entry_flow
    return [Problem(flow.file, flow.line_of("max_misses"), f"max_misses is set but no on_max_misses says where "
                                                           f"a session goes after {flow.max_misses} misses",
                    "warning")
            for flow in site.flows.flows.values()
            if flow.max_misses is not None and (flow.on_max_misses or entry.on_max_misses) is None]


# ---- names other files define -------------------------------------------------------------

def unknown_queues(site: Site) -> list[Problem]:
    problems = []
    for node in _nodes(site):
        if isinstance(node, Handoff) and node.queue not in site.queues:
            where = ("triage.yaml" if site.queues_defined
                     else f'triage.yaml, which defines no queues (then only "{IMPLICIT_QUEUE}" exists)')
            problems.append(Problem(node.file, node.line_of("handoff"), f'queue "{node.queue}" is not defined in '
                                                                        f"{where}{did_you_mean(node.queue, site.queues)}"))
    return problems


def empty_faq_categories(site: Site) -> list[Problem]:
    return [Problem(node.file, node.line_of("faq"), f'FAQ category "{node.faq_category}" has no active entries'
                                                    f"{did_you_mean(node.faq_category, site.categories)}")
            for node in _nodes(site)
            if isinstance(node, Faq) and node.faq_category is not None and node.faq_category not in site.categories]


ENGINE_VARS = frozenset({"consent", "last_media"})
"""What the engine itself keeps in vars: a consent node's answer and the last photo or file."""


def _saved_vars(flows: FlowSet) -> frozenset[str]:
    names = set(ENGINE_VARS)
    for node in flows.nodes.values():
        names.update(node.set)
        if isinstance(node, Ask):
            names.add(node.save)
        if isinstance(node, Say):
            names.update(name for button in node.buttons for name in button.set)
    return frozenset(names)


def _templates(node: Node) -> list[Text | Expr]:
    """Every template a node renders or evaluates."""
    found = [*_user_texts(node), *node.set.values()]
    match node:
        case Say():
            found += [node.image, *(link.url for link in node.links),
                      *(value for button in node.buttons for value in button.set.values())]
        case Handoff():
            found.append(node.summary)
        case Check():
            found += [case.when for case in node.cases]
    return [template for template in found if template is not None]


def _vars_read(template: Text | Expr) -> frozenset[str]:
    if isinstance(template, Expr):
        return fields_read("{{ " + template.source + " }}", "vars")
    return frozenset() if template.is_static else fields_read(template.source, "vars")


def unsaved_vars(site: Site) -> list[Problem]:
    """``vars`` holds only what the flows put there, so a name nothing saves is a typo that
    would show customers a blank (or make a ``when`` always false)."""
    flows = site.flows
    saved = _saved_vars(flows)
    written = [(node.file, template.line or node.line, template) for node in _nodes(site)
               for template in _templates(node)]
    written += [(flow.file, route.when.line or route.line, route.when) for flow in flows.flows.values() for route in flow.routes]
    return [Problem(file, line, f'vars.{name} is never saved: no ask saves it and no set sets it, so it is '
                                f"always empty{did_you_mean(name, saved)}", "warning")
            for file, line, template in written for name in sorted(_vars_read(template) - saved)]


# ---- privacy (issue 6) ------------------------------------------------------------------

def _notice(settings: Settings) -> Notice | None:
    notice = settings.privacy.notice
    if not notice:
        return None
    privacy = settings.raw.get("privacy") if isinstance(settings.raw, dict) else None
    return Notice(notice, display_path(Path(settings.file), settings.root), line_of(privacy, "notice"))


def _entries(flows: FlowSet, *, anywhere: bool) -> list[tuple[str, str]]:
    """(how a session gets there, node) for each way in: the start and the routes, and with
    ``anywhere`` also what can interrupt any node (keywords, fallbacks, on_max_misses)."""
    entry = flows.entry_flow
    found = [("start", _first_node(entry) or "")]
    found += [(f"route (line {route.line})", route.goto) for route in entry.routes]
    if anywhere:
        found += [(f'keyword "{word}"', target) for word, target in flows.keywords.items()]
        found += [(f"{key} of flow {flow.id}", target) for flow in flows.flows.values()
                  for key, target in (("fallback", flow.fallback), ("on_max_misses", flow.on_max_misses)) if target]
    return [(how, target) for how, target in found if target in flows.nodes]


def _paths(flows: FlowSet, entries: list[tuple[str, str]],
           moves: Callable[[Node], Iterable[str]]) -> dict[str, tuple[str, ...]]:
    """Node -> the shortest way there, as (entry, node, ..., node): what an editor needs to see
    to understand why a rule about "reachable" fired."""
    paths: dict[str, tuple[str, ...]] = {}
    todo = deque((target, (how, target)) for how, target in entries)
    while todo:
        node_id, path = todo.popleft()
        if node_id in paths:
            continue
        paths[node_id] = path
        todo.extend((nxt, (*path, nxt)) for nxt in moves(flows.nodes[node_id]) if nxt in flows.nodes)
    return paths


def _show(path: tuple[str, ...], flow: str) -> str:
    how, *nodes = path
    return f"{how}: " + " -> ".join(_as_written(n, flow) for n in nodes)


def _has_text(texts: Iterable[Text | None]) -> bool:
    return any(t is not None and t.source.strip() for t in texts)


def _before_first_message(node: Node) -> tuple[str, ...]:
    """Where a session can go from ``node`` at its start without having sent a message the
    notice can ride on: only the moves that send nothing. The engine puts the notice on the
    first text of the session's first turn, wherever it is; only a turn without any text gets
    the notice alone, in front."""
    match node:
        case Say() if not (node.image or _has_text(node.texts) or node.links or node.buttons):
            return (node.goto,) if node.goto else ()
        case Faq():
            return (node.not_found,)
        case Handoff():
            return (node.closed,) if node.closed else ()
        case Check() | Goto():
            return node.targets()
        case _:
            return ()


def _sends_before_notice(site: Site, node: Node) -> tuple[int, str, str] | None:
    """(line, what happens, how to fix it) when entering ``node`` first sends something the
    notice cannot lead."""
    match node:
        case Say() if node.image:
            return node.line_of("image"), "sends an image before any text", "send a text before the image"
        case Say() if node.links and node.goto and not _has_text(node.texts):
            return node.line_of("links"), "sends links without a text, then goes on", "give the links a text"
        case Faq() if (node.faq_category in site.faq_images
                       or (node.faq_category in (None, "session") and site.faq_images)):
            return (node.line_of("faq"), "can answer with an FAQ entry whose image comes before its text",
                    "send a text before this faq node")
        case End() if not _has_text((node.text,)):
            return node.line_of("end"), "ends the session before any message", "give end a goodbye text"
        case _:
            return None


def notice_not_first(site: Site) -> list[Problem]:
    """상담톡 requires the first automatic message to say the conversation is stored; the engine
    adds ``privacy.notice`` to it, which fails only where the start path sends an image first,
    ends silently, or the notice cannot fit in one message."""
    notice = site.notice
    if notice is None:
        return []
    problems = []
    if len(notice.text) > MAX_TEXT:
        problems.append(Problem(notice.file, notice.line, f"privacy.notice has {len(notice.text)} characters; it must "
                                                          f"fit in the first message, at most {MAX_TEXT}"))
    for node_id, path in _paths(site.flows, _entries(site.flows, anywhere=False), _before_first_message).items():
        node = site.flows.nodes[node_id]
        found = _sends_before_notice(site, node)
        if found is not None:
            line, what, fix = found
            problems.append(Problem(node.file, line, f'"{node.name}" {what} on the start path '
                                                     f"({_show(path, node.flow)}), so the privacy notice would "
                                                     f"not be on the first message; {fix}"))
    return problems


def _until_consent(node: Node) -> tuple[str, ...]:
    """Every move but a consent's ``agree``: what is reachable this way is reachable without consent."""
    return (node.decline,) if isinstance(node, Consent) else node.targets()


def personal_data_without_consent(site: Site) -> list[Problem]:
    paths = _paths(site.flows, _entries(site.flows, anywhere=True), _until_consent)
    problems = []
    for node_id, path in paths.items():
        node = site.flows.nodes[node_id]
        if isinstance(node, Ask) and node.collects_pii:
            why = "pii: true" if node.pii else f"validate: {node.validate}"
            problems.append(Problem(node.file, node.line_of("ask"), f'ask "{node.name}" collects personal data ({why}) '
                                                                   f"but is reached without consent "
                                                                   f"({_show(path, node.flow)}); put a consent node "
                                                                   f"before it and go on from its agree"))
    return problems


RULES: tuple[Callable[[Site], list[Problem]], ...] = (
    entry_without_start, missing_targets, too_many_choices, texts_too_long, labels_too_long, duplicate_labels,
    buttons_taken_by_keywords, bad_urls, local_images, unreachable_nodes, loops_without_waiting, dead_ends, max_misses_without_target,
    unknown_queues, empty_faq_categories, unsaved_vars, notice_not_first, personal_data_without_consent,
)
