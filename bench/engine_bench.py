"""Engine throughput on the example site, and flow loading time for a large site.

Run: ``.venv/bin/python bench/engine_bench.py [ROOT]``. Prints figures; it is not a test.
Targets: >= 30,000 engine steps/s on one core; 200 flow files loaded in < 1 s.
Figures are CPU seconds of this process, so other work on a shared machine does not skew them.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from triage.content import Content, load_content
from triage.flows.engine import new_state, step
from triage.flows.loader import load_flows
from triage.flows.model import Say
from triage.flows.session import Event, Reference, Release, Start, UserInfo, UserText

NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Asia/Seoul"))


def menu_walk(content: Content, presses: int = 200) -> list[Event]:
    """A session pressing buttons through the menus: the common case. Handoffs are released
    and ended sessions restarted, so every step does real work. Recorded by running the engine
    once (it is deterministic), so the timed replay measures the engine alone."""
    events: list[Event] = [Start(Reference("topic=order&order=77"))]
    state, _ = step(content, new_state("walk", UserInfo("u"), NOW), events[0], NOW)
    for i in range(presses):
        node = content.flows.nodes.get(state.node or "")
        if state.owner == "bot" and isinstance(node, Say) and node.buttons:
            event: Event = UserText(node.buttons[i % len(node.buttons)].label)
        else:
            event = {"queue": Release(), "ended": Start(Reference())}.get(state.owner, UserText("처음으로"))
        events.append(event)
        state, _ = step(content, state, event, NOW)
    return events


def free_text() -> list[Event]:
    """Typed questions: every step goes through the FAQ matcher."""
    questions = ("배송 언제 와요", "환불은 언제 되나요", "배송비 얼마에요")
    return [Start(Reference()), *(UserText(t) for q in questions for t in (q, "처음으로"))]


def steps_per_second(content: Content, events: list[Event], seconds: float = 2.0) -> float:
    steps, started = 0, time.process_time()
    while time.process_time() - started < seconds:
        state = new_state("bench", UserInfo("u"), NOW)
        for event in events:
            state, _ = step(content, state, event, NOW)
        steps += len(events)
    return steps / (time.process_time() - started)


def generated_flow(i: int) -> str:
    nodes = "\n".join(f"""
  menu{j}:
    say: "{{{{ channel.name }}}} 메뉴 {i}-{j}, {{{{ params.topic | default('없음') }}}}"
    set: {{ seen{j}: "{{{{ input }}}}" }}
    buttons:
      - {{ label: 다음 {j}, goto: ask{j} }}
      - {{ label: 처음으로, goto: main.start_here }}
    on_text: check{j}
  ask{j}:
    ask: 주문번호를 입력해 주세요.
    save: order{j}
    validate: order_id
    on_fail: agent
    goto: check{j}
  check{j}:
    check:
      - when: params.grade == "vip" and vars.order{j}
        goto: agent
    else: menu{(j + 1) % 5}""" for j in range(5))
    return f"""flow: f{i}
nodes:{nodes}
  agent:
    handoff:
      queue: general
      summary: "{{{{ session.category }}}} / {{{{ vars.order0 | default('-') }}}}"
      message: 상담원을 연결해 드릴게요.
"""


def load_time(count: int = 200) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "main.yaml").write_text("flow: main\nstart: start_here\nnodes:\n  start_here:\n"
                                        "    say: 안녕하세요\n    goto: f0.menu0\n", encoding="utf-8")
        for i in range(count - 1):
            (root / f"f{i}.yaml").write_text(generated_flow(i), encoding="utf-8")
        started = time.process_time()
        flows, problems = load_flows([root], "main", root)
        elapsed = time.process_time() - started
    if flows is None or problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    return elapsed, len(flows.nodes)


def main() -> int:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    content, problems = load_content(root)
    if content is None:
        print("\n".join(str(p) for p in problems), file=sys.stderr)
        return 1
    print(f"engine, menu presses:  {steps_per_second(content, menu_walk(content)):>10,.0f} steps/s (target >= 30,000)")
    print(f"engine, typed FAQ:     {steps_per_second(content, free_text()):>10,.0f} steps/s")
    elapsed, nodes = load_time()
    print(f"load 200 flow files:   {elapsed:>10.3f} s for {nodes} nodes (target < 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
