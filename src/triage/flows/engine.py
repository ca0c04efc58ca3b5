"""The dialogue engine: one pure ``step`` from (state, event) to (state', actions).

Pure so that the server, ``triage chat``, ``triage test`` and replays all run the same code
and get the same answer for the same input: no I/O, no clock (time is ``now``), no
randomness, no logging. What the runtime should log comes back as ``Record`` actions.

Decisions the spec leaves open, made the way an editor would expect:

- Entering a node moves through nodes that do not wait (``goto``, ``check``, a ``say`` with
  ``goto``) until one waits, hands off or ends; more than ``MAX_MOVES`` automatic moves in one
  event is a loop, recorded and answered with a safe text and a handoff to the first queue.
- The handoff reason follows the jump that led there: a button or keyword gives
  ``user_asked``, too many misses ``misses``, an FAQ miss ``faq_not_found``, a failed ``ask``
  ``ask_failed``; anything else is ``rule``.
- A ``faq`` node answers the last *free* text (text that was not a button or keyword) and
  uses it up, so coming back to the node asks for a new question. ``faq: {category:
  session}`` scopes the search to the session's current category.
- An FAQ answer with its own buttons waits for them at the ``faq`` node instead of going on
  to ``found``; other text there is a new question.
- A photo or file is acknowledged and kept in ``vars.last_media``; a node with ``on_text``
  treats it as the text "[사진]" / "[파일]" (so editors can route pictures to an agent). A kind
  the engine does not know (an emoticon, a location) changes nothing and asks for text instead.
- A greeting or thanks (``smalltalk``) where free text would otherwise reach the FAQ unanswered
  or count as a miss is neither: a greeting alone sends nothing (after the idle warning it gets
  ``GREETING_REPLY``), thanks get ``THANKS_REPLY``.
  A greeting in front of a question is cut off, except at an ``ask``, which keeps what was typed.
- Text or media on a new or ended session starts one (as ``Start`` without ``extra``); the
  text is kept as the last free text. ``Start`` while an agent or queue owns the session, and
  anything but ``Release`` then, gets no reply: the human is in charge.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from datetime import datetime, tzinfo
from typing import Any, Callable, Iterable, Mapping, Sequence

from triage.content import Content
from triage.flows.answers import check_answer
from triage.flows.choices import Choices, Keywords, pick
from triage.flows.extra import MAX_EXTRA, parse_extra
from triage.flows.model import Ask, Button, Check, Consent, End, Faq, FlowSet, Goto, Handoff, Node, Say
from triage.flows import smalltalk
from triage.flows.session import (
    Action, EndSession, Event, FaqAttempt, HandoffAction, HandoffInfo, LinkOut, Record, Reference, Release,
    SendButtons, SendImage, SendLinks, SendText, SessionState, SetCategory, SetTags, Start, Timeout, UserInfo,
    UserMedia, UserText,
)
from triage.flows.templates import FALLBACK_TEXT, FIELDS, Expr, Text, evaluate, render
from triage.flows.textsplit import split_text
from triage.handoff.hours import is_open
from triage.kakao.protocol import BUTTON_NAME_MAX

MAX_MOVES = 50
MAX_TEXT = 1000
PATH_LIMIT = 30
"""``state.path`` keeps the latest nodes only: a user circling a menu must not grow the state forever.
The state is stored on every message; 30 nodes is more of the way than an agent's packet needs,
and analytics have every step as a "node" event."""
FAQ_ATTEMPTS_LIMIT = 10
"""The latest FAQ attempts a session keeps for the agent's packet; every attempt is also a Record,
so analytics see them all, while the state serialised on every message stays small (at the
limits above a long session's state is under 2 KB, not the 4.7 KB it grew to at 100 and 20)."""
BUBBLE_LIMIT = 1000

RETRY_TEXT = "입력 형식이 맞지 않아요. 다시 입력해 주세요."
REPEAT_TEXT = "다시 선택해 주세요."
FAQ_PROMPT = "궁금하신 내용을 입력해 주세요."
FAQ_SUGGEST = "혹시 이 질문인가요?"
FAQ_DECLINE = "다른 질문이에요"
FAQ_OFFERS = 3
MEDIA_ACKS = {"photo": "사진을 받았어요.", "video": "동영상을 받았어요.", "audio": "음성 메시지를 받았어요.",
              "file": "파일을 받았어요."}
MEDIA_TEXTS = {"photo": "[사진]", "video": "[동영상]", "audio": "[음성]", "file": "[파일]"}
UNREADABLE_TEXT = "이 형식의 메시지는 읽을 수 없어요. 글로 입력하시거나 버튼을 눌러 주세요."
"""For kinds 상담톡 may add (emoticons, locations...): calling one a file would mislead the customer."""
THANKS_REPLY = "네, 더 궁금한 점이 있으시면 편하게 말씀해 주세요."
GREETING_REPLY = "네, 말씀해 주세요."


@dataclass(frozen=True)
class _Turn:
    """What one event's handling reads besides the state."""

    content: Content
    now: datetime
    text: str | None = None

    @property
    def flows(self) -> FlowSet:
        return self.content.flows


@dataclass(frozen=True)
class _Move:
    """The outcome of entering one node: where to go next at once (``goto``), or wait."""

    state: SessionState
    actions: tuple[Action, ...] = ()
    goto: str | None = None
    reason: str = "rule"


Outcome = tuple[SessionState, list[Action]]


# ---- per-FlowSet lookups, built once --------------------------------------------------------


@dataclass
class _Lookups:
    keywords: Keywords
    menus: dict[str, Choices] = field(default_factory=dict)


_LOOKUPS: dict[int, tuple[weakref.ref, _Lookups]] = {}


def _lookups(flows: FlowSet) -> _Lookups:
    """Normalised keywords and menus per FlowSet, so a step never re-normalises labels."""
    cached = _LOOKUPS.get(id(flows))
    if cached is not None and cached[0]() is flows:
        return cached[1]
    key = id(flows)
    lookups = _Lookups(Keywords.of(flows.keywords))
    _LOOKUPS[key] = (weakref.ref(flows, lambda _: _LOOKUPS.pop(key, None)), lookups)
    return lookups


def _menu(flows: FlowSet, node: Say | Consent) -> Choices:
    menus = _lookups(flows).menus
    if node.id not in menus:
        menus[node.id] = Choices.of([(label,) for label in _labels(node)])
    return menus[node.id]


def _labels(node: Node) -> tuple[str, ...]:
    if isinstance(node, Say):
        return tuple(b.label for b in node.buttons)
    if isinstance(node, Consent):
        return (node.agree_label, node.decline_label)
    return ()


# ---- public API ---------------------------------------------------------------------------


def new_state(session_id: str, user: UserInfo, now: datetime) -> SessionState:
    return SessionState(session_id=session_id, user=user, started_at=now)


def step(content: Content, state: SessionState, event: Event, now: datetime) -> tuple[SessionState, list[Action]]:
    """Handle one event; never raises on any text, extra or event order."""
    turn = _Turn(content, _local(now, content.settings.tz))
    handler = _HANDLERS.get(type(event))
    if handler is None:
        return state, []
    new, actions = handler(turn, state, event)
    if new.idle_warned and not isinstance(event, Timeout):
        new = new.evolve(idle_warned=False)
    return new, _fit_bubbles(actions)


def _attempts(state: SessionState, attempt: FaqAttempt) -> tuple[FaqAttempt, ...]:
    return (*state.faq_attempts, attempt)[-FAQ_ATTEMPTS_LIMIT:]


def _local(now: datetime, tz: tzinfo) -> datetime:
    return now.astimezone(tz) if now.tzinfo else now.replace(tzinfo=tz)


# ---- templates ----------------------------------------------------------------------------


def _context(turn: _Turn, state: SessionState) -> dict[str, Any]:
    """Copies, not the state's own mappings: the sandbox lets templates call ``dict.update``."""
    return {
        "params": dict(state.params),
        "reference": _fields("reference", state.reference),
        "user": _fields("user", state.user),
        "vars": dict(state.vars),
        "input": turn.text if turn.text is not None else (state.last_input or ""),
        "session": _fields("session", state, id="session_id"),
        "now": turn.now,
        "channel": _fields("channel", turn.content.settings.channel),
    }


def _fields(name: str, source: Any, **renamed: str) -> dict[str, Any]:
    """The fields loading lets templates read (``FIELDS``), so what validates is what renders."""
    return {field: getattr(source, renamed.get(field, field)) for field in FIELDS[name]}


def _template_error(where: str, line: int, error: str) -> Record:
    return Record("template_error", {"node": where, "line": line, "error": error})


def _texts(turn: _Turn, state: SessionState, where: str, texts: Iterable[Text | None]) -> tuple[list[str], list[Action]]:
    """Render several templates with one context, built only if one of them is dynamic."""
    context: dict[str, Any] | None = None
    out: list[str] = []
    errors: list[Action] = []
    for text in texts:
        if text is None or text.is_static:
            out.append(text.source if text is not None else "")
            continue
        context = context if context is not None else _context(turn, state)
        rendered, error = render(text, context)
        out.append(rendered)
        if error:
            errors.append(_template_error(where, text.line, error))
    return out, errors


def _first_true(turn: _Turn, state: SessionState, where: str,
                cases: Sequence[tuple[Expr, str]]) -> tuple[int | None, list[Action]]:
    context = _context(turn, state)
    errors: list[Action] = []
    for i, (when, _) in enumerate(cases):
        ok, error = evaluate(when, context)
        if error:
            errors.append(_template_error(where, when.line, error))
        if ok:
            return i, errors
    return None, errors


def _set_vars(turn: _Turn, state: SessionState, where: str, values: Mapping[str, Text]) -> tuple[SessionState, list[Action]]:
    if not values:
        return state, []
    rendered, errors = _texts(turn, state, where, values.values())
    return state.evolve(vars={**state.vars, **dict(zip(values, rendered))}), errors


# ---- moving through nodes -----------------------------------------------------------------


def _run(turn: _Turn, state: SessionState, target: str, reason: str, actions: Sequence[Action] = ()) -> Outcome:
    """Enter ``target`` and keep going until a node waits, hands off or ends."""
    out = list(actions)
    for _ in range(MAX_MOVES):
        node = turn.flows.nodes.get(target)
        if node is None:
            return _safe_stop(turn, state, out, "node_missing", target)
        move = _enter(turn, state, node, reason)
        state = move.state
        out.extend(move.actions)
        if move.goto is None:
            return state, out
        target, reason = move.goto, move.reason
    return _safe_stop(turn, state, out, "loop_guard", target)


def _safe_stop(turn: _Turn, state: SessionState, actions: list[Action], kind: str, node: str) -> Outcome:
    """Content that loops or points nowhere must still leave the customer with a person."""
    queue = next(iter(turn.content.settings.queues), "general")
    info = HandoffInfo(queue, "normal", (), "", "rule")
    handoff = HandoffAction(info.queue, info.priority, info.skills, info.summary, info.reason)
    return state.evolve(owner="queue", handoff=info), [*actions, Record(kind, {"node": node}),
                                                       SendText(FALLBACK_TEXT), handoff]


def _enter(turn: _Turn, state: SessionState, node: Node, reason: str) -> _Move:
    state, arrival = _arrive(turn, state, node)
    move = _ENTER[type(node)](turn, state, node, reason)
    return _Move(move.state, (*arrival, *move.actions), move.goto, move.reason)


def _arrive(turn: _Turn, state: SessionState, node: Node) -> tuple[SessionState, list[Action]]:
    """The common keys: ``set``, ``category``, ``tags``, and the path for analytics."""
    state, actions = _set_vars(turn, state, node.id, node.set)
    changes, marks = _classify(state, node.category, node.tags)
    state = state.evolve(node=node.id, tries=0, offered=(), path=(*state.path, node.id)[-PATH_LIMIT:], **changes)
    return state, [*actions, *marks, Record("node", {"node": node.id})]


def _classify(state: SessionState, category: str | None, tags: tuple[str, ...]) -> tuple[dict[str, Any], list[Action]]:
    """State changes for category and tags, with actions only when something changed, so the
    store sees one SetCategory per real change and SetTags always carries the whole set."""
    changes: dict[str, Any] = {}
    actions: list[Action] = []
    if category is None and not tags:
        return changes, actions
    if category is not None and category != state.category:
        changes["category"] = category
        actions.append(SetCategory(category))
    merged = _merge_tags(state.tags, tags)
    if merged != state.tags:
        changes["tags"] = merged
        actions.append(SetTags(merged))
    return changes, actions


def _merge_tags(old: tuple[str, ...], new: Iterable[str]) -> tuple[str, ...]:
    return old + tuple(t for t in dict.fromkeys(new) if t not in old)


def _settled(state: SessionState) -> SessionState:
    """A successful choice resets the miss count (skipping the copy when there is nothing to reset)."""
    return state.evolve(misses=0) if state.misses else state


def _bubbles(texts: Sequence[str], image: str | None, links: tuple[LinkOut, ...],
             labels: tuple[str, ...]) -> list[Action]:
    """Texts as bubbles; links and buttons ride on the last one (the renderer merges an
    empty-text SendButtons into the SendLinks bubble before it)."""
    out: list[Action] = [SendImage(image)] if image else []
    body = [t for t in texts if t.strip()]
    last = body.pop() if body else ""
    out.extend(SendText(t) for t in body)
    if links:
        out.append(SendLinks(last, links))
        last = ""
    if labels:
        out.append(SendButtons(last, labels))
    elif last:
        out.append(SendText(last))
    return out


def _enter_say(turn: _Turn, state: SessionState, node: Say, reason: str) -> _Move:
    rendered, errors = _texts(turn, state, node.id, (*node.texts, node.image, *(link.url for link in node.links)))
    count = len(node.texts)
    links = tuple(LinkOut(link.label, url) for link, url in zip(node.links, rendered[count + 1:]))
    actions = (*errors, *_bubbles(rendered[:count], rendered[count] or None, links, _labels(node)))
    return _Move(state, actions, node.goto, reason)


def _enter_ask(turn: _Turn, state: SessionState, node: Ask, reason: str) -> _Move:
    (prompt,), errors = _texts(turn, state, node.id, (node.prompt,))
    return _Move(state, (*errors, SendText(prompt)))


def _enter_check(turn: _Turn, state: SessionState, node: Check, reason: str) -> _Move:
    index, errors = _first_true(turn, state, node.id, [(c.when, c.goto) for c in node.cases])
    return _Move(state, tuple(errors), node.cases[index].goto if index is not None else node.else_, reason)


def _enter_faq(turn: _Turn, state: SessionState, node: Faq, reason: str) -> _Move:
    if not state.last_input:
        return _Move(state, (SendText(FAQ_PROMPT),))
    return _ask_faq(turn, state, node, state.last_input, reason)


def _enter_handoff(turn: _Turn, state: SessionState, node: Handoff, reason: str) -> _Move:
    settings = turn.content.settings
    queue = settings.queues.get(node.queue)
    if node.closed and not node.offline and queue is not None and not is_open(queue, turn.now, settings.tz):
        return _Move(state, (Record("queue_closed", {"queue": node.queue}),), node.closed, reason)
    (message, summary), errors = _texts(turn, state, node.id, (node.message, node.summary))
    skills = node.skills or (queue.skills if queue else ())
    info = HandoffInfo(node.queue, node.priority, skills, summary, reason)
    sends = (SendText(message),) if message else ()
    handoff = HandoffAction(info.queue, info.priority, info.skills, info.summary, info.reason, node.offline)
    return _Move(state.evolve(owner="queue", handoff=info), (*errors, *sends, handoff))


def _enter_end(turn: _Turn, state: SessionState, node: End, reason: str) -> _Move:
    (goodbye,), errors = _texts(turn, state, node.id, (node.text,))
    sends = (SendText(goodbye),) if goodbye else ()
    return _Move(state.evolve(owner="ended"), (*errors, *sends, EndSession("bot")))


def _enter_goto(turn: _Turn, state: SessionState, node: Goto, reason: str) -> _Move:
    return _Move(state, (), node.target, reason)


def _enter_consent(turn: _Turn, state: SessionState, node: Consent, reason: str) -> _Move:
    (text,), errors = _texts(turn, state, node.id, (node.text,))
    return _Move(state, (*errors, SendButtons(text, _labels(node))))


_ENTER: dict[type, Callable[..., _Move]] = {
    Say: _enter_say, Ask: _enter_ask, Check: _enter_check, Faq: _enter_faq, Handoff: _enter_handoff,
    End: _enter_end, Goto: _enter_goto, Consent: _enter_consent,
}


# ---- FAQ ----------------------------------------------------------------------------------


def _faq_category(state: SessionState, node: Faq) -> str | None:
    return state.category if node.faq_category == "session" else node.faq_category


def _ask_faq(turn: _Turn, state: SessionState, node: Faq, query: str, reason: str) -> _Move:
    query = smalltalk.without_greeting(query)
    decision = turn.content.faq.decide(query, _faq_category(state, node))
    entries = turn.content.faq.entries
    state = state.evolve(last_input=None)
    scored = tuple((c.entry_id, c.score) for c in decision.candidates)
    record = Record("faq", {"query": query, "decision": decision.kind, "entry_id": decision.entry_id,
                            "category": entries[decision.entry_id].category if decision.entry_id in entries else None,
                            "candidates": [(c.entry_id, c.score, c.route) for c in decision.candidates]})
    if decision.kind == "answer" and decision.entry_id in entries:
        attempt = FaqAttempt(query, "answer", decision.entry_id, scored)
        return _answer(turn, state, node, entries[decision.entry_id], attempt, record)
    talk = smalltalk.kind(query)
    if talk is not None:
        return _Move(state, tuple(_small_talk(state, node, talk)))
    offered = tuple(dict.fromkeys(c.entry_id for c in decision.candidates if c.entry_id in entries))[:FAQ_OFFERS]
    if decision.kind == "suggest" and offered:
        state = state.evolve(offered=offered, faq_attempts=_attempts(state, FaqAttempt(query, "suggest", None, scored)))
        return _Move(state, (record, _suggestion([entries[i].q for i in offered])))
    state = state.evolve(faq_attempts=_attempts(state, FaqAttempt(query, "not_found", None, scored)))
    return _Move(state, (record,), node.not_found, "faq_not_found")


def _short(label: str) -> str:
    """FAQ questions are longer than a button may be; the suggestion's text lists them whole,
    and a press of the short label is matched back to its entry."""
    return label if len(label) <= BUTTON_NAME_MAX else label[: BUTTON_NAME_MAX - 1] + "…"


def _suggestion(questions: Sequence[str]) -> SendButtons:
    listing = "\n".join(f"{i}. {q}" for i, q in enumerate(questions, 1))
    return SendButtons(f"{FAQ_SUGGEST}\n{listing}", (*(_short(q) for q in questions), FAQ_DECLINE))


def _answer(turn: _Turn, state: SessionState, node: Faq, entry: Any, attempt: FaqAttempt, record: Record) -> _Move:
    rendered, errors = _texts(turn, state, node.id, (entry.a, entry.image, *(link.url for link in entry.links)))
    links = tuple(LinkOut(link.label, url) for link, url in zip(entry.links, rendered[2:]))
    actions = (record, *errors, *_bubbles(rendered[:1], rendered[1] or None, links,
                                          tuple(b.label for b in entry.buttons)))
    state = state.evolve(faq_attempts=_attempts(state, attempt))
    return _Move(state, actions, None if entry.buttons else node.found)


def _answered_buttons(turn: _Turn, state: SessionState) -> tuple[Button, ...]:
    last = state.faq_attempts[-1] if state.faq_attempts else None
    if last is None or last.decision not in ("answer", "chosen"):
        return ()
    entry = turn.content.faq.entries.get(last.entry_id or "")
    return tuple(entry.buttons) if entry is not None else ()


def _reply_faq(turn: _Turn, state: SessionState, node: Faq, text: str) -> Outcome:
    if state.offered:
        return _pick_offered(turn, state, node, text)
    buttons = _answered_buttons(turn, state)
    chosen = pick(Choices.of([(b.label,) for b in buttons]), text) if buttons else None
    if chosen is not None:
        return _choose(turn, state, node, buttons[chosen.index], chosen.rule)
    return _finish_move(turn, _ask_faq(turn, state.evolve(misses=0), node, text, "rule"))


def _pick_offered(turn: _Turn, state: SessionState, node: Faq, text: str) -> Outcome:
    entries = turn.content.faq.entries
    offered = [i for i in state.offered if i in entries]
    menu = Choices.of([*((_short(entries[i].q), entries[i].q) for i in offered), (FAQ_DECLINE,)])
    chosen = pick(menu, text)
    query = state.faq_attempts[-1].query if state.faq_attempts else text
    state = state.evolve(offered=(), misses=0)
    if chosen is not None and chosen.index < len(offered):
        entry_id = offered[chosen.index]
        record = Record("faq", {"query": query, "decision": "chosen", "entry_id": entry_id,
                                "category": entries[entry_id].category, "candidates": []})
        move = _answer(turn, state, node, entries[entry_id], FaqAttempt(query, "chosen", entry_id), record)
        return _finish_move(turn, move)
    record = Record("faq", {"query": query, "decision": "declined", "entry_id": None, "candidates": []})
    state = state.evolve(faq_attempts=_attempts(state, FaqAttempt(query, "declined")),
                         last_input=text if chosen is None else None)
    return _run(turn, state, node.not_found, "faq_not_found", [record])


def _finish_move(turn: _Turn, move: _Move) -> Outcome:
    if move.goto is None:
        return move.state, list(move.actions)
    return _run(turn, move.state, move.goto, move.reason, move.actions)


# ---- user text at a waiting node ----------------------------------------------------------


def _choose(turn: _Turn, state: SessionState, node: Node, button: Button, rule: str) -> Outcome:
    state, errors = _set_vars(turn, _settled(state), node.id, button.set)
    record = Record("choice", {"node": node.id, "label": button.label, "rule": rule})
    return _run(turn, state, button.goto, "user_asked", [record, *errors])


def _miss(turn: _Turn, state: SessionState, node: Node, text: str) -> Outcome:
    """Text that fits nothing: the fallback, or after too many in a row, ``on_max_misses``."""
    flows = turn.flows
    state = state.evolve(misses=state.misses + 1, last_input=text)
    record = Record("miss", {"node": node.id, "misses": state.misses})
    limit, give_up = flows.max_misses_for(node.id), flows.on_max_misses_for(node.id)
    if limit and give_up and state.misses >= limit:
        return _run(turn, state.evolve(misses=0), give_up, "misses", [record])
    fallback = flows.fallback_for(node.id)
    if fallback:
        return _run(turn, state, fallback, "rule", [record])
    labels = _labels(node)
    return state, [record, SendButtons(REPEAT_TEXT, labels) if labels else SendText(REPEAT_TEXT)]


def _reply_say(turn: _Turn, state: SessionState, node: Say, text: str) -> Outcome:
    chosen = pick(_menu(turn.flows, node), text) if node.buttons else None
    if chosen is not None:
        return _choose(turn, state, node, node.buttons[chosen.index], chosen.rule)
    talk = _unanswered_small_talk(turn, state, node, text)
    if talk is not None:
        return state, _small_talk(state, node, talk)
    if node.on_text:
        return _run(turn, state.evolve(misses=0, last_input=text), node.on_text, "rule")
    return _miss(turn, state, node, text)


def _unanswered_small_talk(turn: _Turn, state: SessionState, node: Say, text: str) -> smalltalk.Kind | None:
    """Greetings and thanks are taken as such only where free text would otherwise reach the FAQ
    or count as a miss, and the FAQ does not answer them: an editor's ``on_text`` to any other
    node takes every text. Checked here, before the text moves on, so the customer stays at the
    menu whose buttons are on screen."""
    talk = smalltalk.kind(text)
    if talk is None:
        return None
    target = turn.flows.nodes.get(node.on_text or turn.flows.fallback_for(node.id) or "")
    if node.on_text and not isinstance(target, Faq):
        return None
    if isinstance(target, Faq) and turn.content.faq.decide(text, _faq_category(state, target)).kind == "answer":
        return None
    return talk


def _small_talk(state: SessionState, node: Node, talk: smalltalk.Kind) -> list[Action]:
    """Neither is a miss. A greeting is no input: it asks nothing, and the node's prompt is the
    bot's latest bubble, just sent (a greeting that opens the session arrives with the welcome)
    or still above it, so repeating it would stack the same menu twice. After the idle warning
    the latest bubble is the warning, and a greeting then ("여보세요") checks that someone is
    there: it gets a short answer rather than the prompt again, which may be long and would
    read as starting over. Thanks get a short courteous reply. Both replies keep the node's
    buttons at hand. The record keeps both out of the report's unanswered questions."""
    record = Record("small_talk", {"node": node.id, "kind": talk})
    if talk == "greeting" and not state.idle_warned:
        return [record]
    reply = THANKS_REPLY if talk == "thanks" else GREETING_REPLY
    labels = _labels(node)
    return [record, SendButtons(reply, labels) if labels else SendText(reply)]


def _reply_consent(turn: _Turn, state: SessionState, node: Consent, text: str) -> Outcome:
    chosen = pick(_menu(turn.flows, node), text)
    if chosen is None:
        return _miss(turn, state, node, text)
    agreed = chosen.index == 0
    consent = {"agreed": agreed, "at": turn.now.isoformat()}
    state = state.evolve(vars={**state.vars, "consent": consent}, misses=0)
    record = Record("consent", {"node": node.id, **consent})
    return _run(turn, state, node.agree if agreed else node.decline, "user_asked", [record])


def _reply_ask(turn: _Turn, state: SessionState, node: Ask, text: str) -> Outcome:
    """An invalid answer is not a miss: it gets ``retry`` and counts toward ``max_tries``."""
    value = check_answer(node.validate, text, turn.now)
    if value is not None:
        state = state.evolve(vars={**state.vars, node.save: value}, tries=0, misses=0, last_input=text)
        return _run(turn, state, node.goto, "rule")
    state = state.evolve(tries=state.tries + 1)
    if node.on_fail and state.tries >= node.max_tries:
        return _run(turn, state, node.on_fail, "ask_failed", [Record("ask_failed", {"node": node.id})])
    (retry,), errors = _texts(turn, state, node.id, (node.retry,))
    return state, [*errors, SendText(retry or RETRY_TEXT)]


_REPLY: dict[type, Callable[..., Outcome]] = {
    Say: _reply_say, Ask: _reply_ask, Faq: _reply_faq, Consent: _reply_consent,
}


# ---- events -------------------------------------------------------------------------------


def _start_node(flows: FlowSet) -> str:
    entry = flows.entry_flow
    return entry.start or next(iter(entry.nodes))


def _route(turn: _Turn, state: SessionState) -> tuple[SessionState, list[Action], str]:
    """The entry flow's routes, first true wins; otherwise its ``start``."""
    routes = turn.flows.entry_flow.routes
    index, actions = _first_true(turn, state, "routes", [(r.when, r.goto) for r in routes]) if routes else (None, [])
    if index is None:
        if state.reference.extra:
            actions.append(Record("extra_unmatched", {"extra": state.reference.extra}))
        return state, actions, _start_node(turn.flows)
    route = routes[index]
    changes, marks = _classify(state, route.category, route.tags)
    state = state.evolve(**changes) if changes else state
    actions.extend(marks)
    actions.append(Record("route", {"line": route.line, "when": route.when.source, "goto": route.goto,
                                    "category": route.category}))
    return state, actions, route.goto


def _begin(turn: _Turn, state: SessionState, reference: Reference, last_input: str | None = None) -> Outcome:
    reference = Reference(*(str(v)[:MAX_EXTRA] for v in (reference.extra, reference.bot, reference.bot_event)))
    fresh = new_state(state.session_id, state.user, turn.now).evolve(
        reference=reference, params=parse_extra(reference.extra), owner="bot", last_input=last_input)
    fresh, actions, target = _route(turn, fresh)
    fresh, actions = _run(turn, fresh, target, "rule", actions)
    return fresh, _with_notice(turn.content.settings.privacy.notice, actions)


def _with_notice(notice: str | None, actions: list[Action]) -> list[Action]:
    """The privacy notice rides on the session's first text bubble, or goes alone if there is none."""
    if not notice:
        return actions
    for i, action in enumerate(actions):
        if isinstance(action, (SendText, SendButtons, SendLinks)) and action.text:
            return [*actions[:i], replace(action, text=f"{notice}\n\n{action.text}"), *actions[i + 1:]]
    first = next((i for i, a in enumerate(actions) if isinstance(a, (SendImage, SendButtons, SendLinks))), len(actions))
    return [*actions[:first], SendText(notice), *actions[first:]]


def _on_start(turn: _Turn, state: SessionState, event: Start) -> Outcome:
    if state.owner in ("queue", "agent"):
        return state, []
    return _begin(turn, state, event.reference)


def _on_text(turn: _Turn, state: SessionState, event: UserText) -> Outcome:
    text = str(event.text)[:MAX_TEXT]
    if state.owner in ("new", "ended"):
        return _begin(turn, state, Reference(), text)
    if state.owner != "bot":
        return state, []
    if not isinstance(turn.flows.nodes.get(state.node or ""), Ask):
        text = smalltalk.without_greeting(text)
    return _reply(_Turn(turn.content, turn.now, text), state, text)


def _reply(turn: _Turn, state: SessionState, text: str) -> Outcome:
    """Global keywords first, at any node; then what the waiting node makes of the text. A keyword
    inside a request ("상담원 연결해 주세요") yields to a button on screen that the text picks, so a
    label that starts with a keyword still does what its button says (its ``set``, its target)."""
    node = turn.flows.nodes.get(state.node or "")
    keyword = _lookups(turn.flows).keywords.find(text)
    if keyword is not None and (keyword.bare or not _picks_button(turn, node, text)):
        return _run(turn, _settled(state), keyword.target, "user_asked", [Record("keyword", {"text": text})])
    if node is None:
        return _run(turn, state, _start_node(turn.flows), "rule", [Record("node_missing", {"node": state.node})])
    return _REPLY.get(type(node), _miss)(turn, state, node, text)


def _picks_button(turn: _Turn, node: Node | None, text: str) -> bool:
    return isinstance(node, (Say, Consent)) and pick(_menu(turn.flows, node), text) is not None


def _on_media(turn: _Turn, state: SessionState, event: UserMedia) -> Outcome:
    if state.owner in ("new", "ended"):
        state, started = _begin(turn, state, Reference())
        if state.owner != "bot":
            return state, started
        state, actions = _on_media(turn, state, event)
        return state, [*started, *actions]
    if state.owner != "bot":
        return state, []
    kind = str(event.kind)
    if kind not in MEDIA_ACKS:
        return state, [SendText(UNREADABLE_TEXT)]
    ack = SendText(MEDIA_ACKS[kind])
    state = state.evolve(vars={**state.vars, "last_media": {"kind": kind, "url": str(event.url)[:MAX_TEXT]}})
    node = turn.flows.nodes.get(state.node or "")
    if isinstance(node, Say) and node.on_text:
        text = MEDIA_TEXTS[kind]
        return _run(_Turn(turn.content, turn.now, text), state.evolve(last_input=text), node.on_text, "rule", [ack])
    return state, [ack]


def _on_timeout(turn: _Turn, state: SessionState, event: Timeout) -> Outcome:
    if state.owner != "bot":
        return state, []
    timers = turn.content.settings.timers
    if event.stage == "warn":
        return state.evolve(idle_warned=True), [SendText(timers.warning)]
    if event.stage == "end":
        return state.evolve(owner="ended"), [SendText(timers.bot_end_text), EndSession("inactive")]
    return state, []


def _on_release(turn: _Turn, state: SessionState, event: Release) -> Outcome:
    if state.owner not in ("queue", "agent"):
        return state, []
    flows = turn.flows
    wanted = event.node or ""
    target = next((n for n in (wanted, f"{flows.entry}.{wanted}") if n in flows.nodes), None)
    actions: list[Action] = [Record("release", {"node": wanted})]
    state = state.evolve(owner="bot", handoff=None, misses=0)
    return _run(turn, state, target or _start_node(flows), "rule", actions)


_HANDLERS: dict[type, Callable[..., Outcome]] = {
    Start: _on_start, UserText: _on_text, UserMedia: _on_media, Timeout: _on_timeout, Release: _on_release,
}


def _fit_bubbles(actions: list[Action]) -> list[Action]:
    """상담톡 refuses texts over 1,000 characters: long ones become several bubbles."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, (SendText, SendButtons, SendLinks)) and len(action.text) > BUBBLE_LIMIT:
            parts = split_text(action.text, BUBBLE_LIMIT)
            out.extend(SendText(p) for p in parts[:-1])
            out.append(replace(action, text=parts[-1] if parts else ""))
        else:
            out.append(action)
    return out
