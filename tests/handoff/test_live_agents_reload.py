"""Editing ``agents:`` in triage.yaml while the server runs: routing follows the file without a restart."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Callable

import yaml

from triage.app import DESK, STORE
from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_desk import escalate, said


def edit_agents(root: Path, edit: Any) -> None:
    """What an operator does in an editor: load triage.yaml, change the agents, save."""
    path = root / "triage.yaml"
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(settings["agents"])
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")


async def listed(client: AgentClient) -> dict[str, dict]:
    return {a["id"]: a for a in (await client.ok("GET", "/agents"))["agents"]}


async def until_listed(client: AgentClient, check: Callable[[dict[str, dict]], bool]) -> None:
    """The reload is polled, so a test waits until the agent list shows the edit."""
    for _ in range(100):
        if check(await listed(client)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the server never picked up the edited triage.yaml")


async def until_gone(client: AgentClient, agent_id: str) -> None:
    await until_listed(client, lambda agents: agent_id not in agents)


def replace_kim_with_lee(agents: dict) -> None:
    del agents["kim"]
    agents["lee"].update(skills=["주문", "배송", "기타"], max_concurrent=3)


async def test_a_removed_agent_s_customer_is_requeued_and_routing_uses_the_edited_agents(open_site, live):
    root = open_site(AGENTS)
    stack = await live(root, timer_interval=0.05, heartbeat=0.1, reload_interval=0.05)
    kim, lee = (AgentClient(stack.http, stack.server_url, TOKENS[a]) for a in ("kim", "lee"))
    await kim.online("kim")
    await lee.online("lee")
    first = stack.user("reload-1")
    await escalate(first)
    await first.wait_for(said("김상담님이 연결되었어요"))
    ticket = await kim.ticket_of("reload-1")

    edit_agents(root, replace_kim_with_lee)
    await until_gone(lee, "kim")
    seen = await first.wait_for(said("이환불님이 연결되었어요"))
    assert "상담원 연결이 끊겨 다른 상담원을 연결해 드릴게요." in [m["text"] for m in seen]
    assert (await kim.call("GET", "/agents"))[0] == 401
    [moved] = await lee.events("transferred")
    assert (moved["data"]["ticket_id"], moved["data"]["from_agent"], moved["data"]["note"]) == (
        ticket, "kim", "agent went offline")

    second = stack.user("reload-2")
    await escalate(second)
    await second.wait_for(said("이환불님이 연결되었어요"))
    current = await listed(lee)
    assert (current["lee"]["skills"], current["lee"]["max_concurrent"], len(current["lee"]["active"])) == (
        ["기타", "배송", "주문"], 3, 2)

    stack.server[DESK].restore()
    assert await listed(lee) == current, "the store holds what the reload changed, so a restart keeps it"


def shrink_kim_and_remove_lee(agents: dict) -> None:
    del agents["lee"]
    agents["kim"]["max_concurrent"] = 4


async def test_a_reload_alone_is_saved_at_once_so_a_restart_keeps_it(open_site, live):
    root = open_site(AGENTS)
    stack = await live(root, timer_interval=0.05, heartbeat=0.1, reload_interval=0.05)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")

    edit_agents(root, shrink_kim_and_remove_lee)
    await until_gone(kim, "lee")
    store = stack.server[STORE]
    for _ in range(100):
        saved = {row.id: (row.presence, row.max_concurrent) for row in store.agent_rows()}
        if saved.get("kim") == ("online", 4):
            break
        await asyncio.sleep(0.05)
    assert saved == {"kim": ("online", 4), "lee": ("offline", 2)}, "no customer wrote, yet the store has the reload"


async def test_customers_of_an_agent_who_goes_offline_are_told_once_and_hear_no_made_up_wait(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")
    customer = stack.user("left-1")
    await escalate(customer)
    await customer.wait_for(said("김상담님이 연결되었어요"))
    await customer.new_messages()

    await kim.ok("PUT", "/agents/kim/presence", {"presence": "offline"})
    seen = await customer.wait_for(lambda got: len(got) >= 2)
    await asyncio.sleep(0.3)
    assert [m["text"] for m in seen + await customer.new_messages()] == [
        "상담원 연결이 끊겨 다른 상담원을 연결해 드릴게요.",
        "현재 대기 1번째예요. 지금은 연결 가능한 상담원이 없어 대기가 길어질 수 있어요.",
    ]


def raise_kim_to_four(agents: dict) -> None:
    agents["kim"]["max_concurrent"] = 4


async def test_a_presence_change_right_after_a_reload_is_what_the_store_keeps(open_site, live):
    root = open_site(AGENTS)
    stack = await live(root, timer_interval=60, heartbeat=0.1, reload_interval=0.05)  # no tick saves the reload first
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    await kim.online("kim")
    edit_agents(root, raise_kim_to_four)
    await until_listed(kim, lambda agents: agents["kim"]["max_concurrent"] == 4)

    await kim.ok("PUT", "/agents/kim/presence", {"presence": "away"})
    customer = stack.user("after-reload")
    await escalate(customer)

    saved = {row.id: (row.presence, row.max_concurrent) for row in stack.server[STORE].agent_rows()}
    assert saved["kim"] == ("away", 4), "the older row the reload staged never overwrites the agent's own change"
    stack.server[DESK].restore()
    assert (await listed(kim))["kim"]["presence"] == "away", "a restart does not bring kim back online"
