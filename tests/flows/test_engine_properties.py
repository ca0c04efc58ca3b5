"""Whatever users type, whatever ``extra`` says and whatever order events come in, ``step``
never raises, and a session the bot owns can always still reach a person or an end."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from engine_support import SEOUL, load_site
from triage.content import Content
from triage.flows.engine import new_state, step
from triage.flows.model import End, Faq, Handoff, Say
from triage.flows.session import Reference, Release, Start, Timeout, UserInfo, UserMedia, UserText

EXAMPLE_SITE = Path(__file__).parents[2]
CONTENT = load_site(EXAMPLE_SITE)
FLOWS = CONTENT.flows
LABELS = sorted({b.label for node in FLOWS.nodes.values() if isinstance(node, Say) for b in node.buttons}
                | set(FLOWS.keywords))
TIMES = [datetime(2026, 11, 25, 10, tzinfo=SEOUL), datetime(2026, 11, 29, 15, tzinfo=SEOUL),
         datetime(2026, 2, 17, 10, tzinfo=SEOUL), datetime(2026, 11, 25, 23, 30, tzinfo=SEOUL)]


def successors(content: Content, node_id: str) -> set[str]:
    """Every node a session waiting at ``node_id`` can move to: the node's own targets, the
    global keywords, the flow's fallback and on_max_misses, and buttons of FAQ answers."""
    flows = content.flows
    node = flows.nodes[node_id]
    found = set(node.targets()) | set(flows.keywords.values())
    found |= {t for t in (flows.fallback_for(node_id), flows.on_max_misses_for(node_id)) if t}
    if isinstance(node, Faq):
        found |= {b.goto for entry in content.faq.entries.values() for b in entry.buttons}
    return found


def can_finish(content: Content, start: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node_id = todo.pop()
        if node_id in seen or node_id not in content.flows.nodes:
            continue
        if isinstance(content.flows.nodes[node_id], (Handoff, End)):
            return True
        seen.add(node_id)
        todo.extend(successors(content, node_id))
    return False


extras = st.one_of(
    st.sampled_from(["", "topic=order&order=77", "topic=refund&grade=vip", "topic=membership",
                     "order-20231114-77", "grade=vip", "topic=%EC%A3%BC%EB%AC%B8", "%FF%00=&&="]),
    st.text(max_size=60),
)
texts = st.one_of(st.sampled_from(LABELS), st.text(max_size=40), st.from_regex(r"[1-9]번?", fullmatch=True))
events = st.one_of(
    st.builds(Start, st.builds(Reference, extras, st.sampled_from(["", "true", "false"]), st.text(max_size=10))),
    st.builds(UserText, texts),
    st.builds(UserText, texts),
    st.builds(UserText, texts),
    st.builds(UserMedia, st.sampled_from(["photo", "file", "video", "weird"]), st.text(max_size=20)),
    st.builds(Timeout, st.sampled_from(["warn", "end", "bogus"])),
    st.builds(Release, st.one_of(st.none(), st.sampled_from(sorted(FLOWS.nodes)), st.text(max_size=10))),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events, min_size=1, max_size=25), st.sampled_from(TIMES))
def test_step_never_raises_and_a_person_or_an_end_stays_reachable(sequence, now):
    state = new_state("prop", UserInfo("u"), now)
    for event in sequence:
        state, actions = step(CONTENT, state, event, now)
        assert isinstance(actions, list)
        if state.owner == "bot":
            assert state.node in FLOWS.nodes
            assert can_finish(CONTENT, state.node), (state.node, state.path)
        if state.owner == "queue":
            assert state.handoff is not None
