"""`triage serve` against `triage sim`: what a KakaoTalk user actually receives."""

from __future__ import annotations

import asyncio
import json
import time

from triage.kakao.sim_client import inject_fault

from .conftest import greeted, has, reply_stuck_in_retries, texts, until, user

SENDER = "0123456789abcdef0123456789abcdef01234567"


async def test_a_button_with_extra_lands_in_its_category(stack, http):
    customer = user(http, stack, "e2e-extra")
    await customer.consult("topic=order&order=77")

    got = await customer.wait_for(has("주문·배송 문의를 도와드릴게요"))

    assert "1년간 보관" in got[0]["text"], "the privacy notice rides on the first bubble"
    assert "배송 조회" in got[-1]["quick_replies"]
    assert stack.query("SELECT category FROM sessions WHERE user_key = ?", "e2e-extra") == [("주문",)]


async def test_a_free_text_question_is_answered_from_the_faq(stack, http):
    customer = await greeted(http, stack, "e2e-faq")

    await customer.say("배송 언제 와요?")

    await customer.wait_for(has("1~2일 안에 출고"))


async def test_a_menu_is_walked_to_a_self_service_link(stack, http):
    customer = user(http, stack, "e2e-menu")
    await customer.consult("topic=order&order=77")
    await customer.wait_for(has("주문·배송 문의"))

    await customer.say("배송 조회")

    got = await customer.wait_for(lambda ms: any(m["links"] for m in ms))
    urls = [link["url"] for m in got for link in m["links"]]
    assert any("77" in url and url.startswith("https://shop.example.com/") for url in urls), got


async def test_asking_for_a_person_escalates_to_the_queue(stack, http):
    customer = await greeted(http, stack, "e2e-agent")

    await customer.say("상담원 연결")

    await customer.wait_for(has("상담원을 연결해 드릴게요"))
    assert stack.query("SELECT status FROM sessions WHERE user_key = ?", "e2e-agent") == [("queue",)]
    assert stack.query("SELECT count(*) FROM events WHERE kind = 'handoff' AND user_key = ?", "e2e-agent") == [(1,)]


async def test_a_duplicate_webhook_is_answered_once(stack, http):
    customer = user(http, stack, "e2e-dup")
    opened = await customer.consult()
    await customer.wait_for(has("무엇을 도와드릴까요"))
    body = {"user_key": "e2e-dup", "sender_key": SENDER, "session_id": opened["session"]["session_id"],
            "time": int(time.time() * 1000), "serial_number": "7000000000000000001", "type": "text",
            "content": "주문/배송"}

    for _ in range(3):
        async with http.post(f"{stack.server_url}/message", json=body) as response:
            assert await response.json() == {"code": "0"}

    await customer.wait_for(has("주문·배송 문의"))
    await asyncio.sleep(1.0)
    late = await customer.new_messages()
    assert "주문·배송 문의" not in texts(late)


async def test_kakao_failing_three_times_still_delivers_once_and_in_order(stack, http):
    customer = await greeted(http, stack, "e2e-500")
    await inject_fault(http, stack.sim_url, "write", 500, 3)

    await customer.say("주문/배송")
    await customer.say("배송 언제 와요?")

    got = await customer.wait_for(has("1~2일 안에 출고"), timeout=15)
    order = [i for i, m in enumerate(got) if "주문·배송 문의" in (m["text"] or "")]
    answer = [i for i, m in enumerate(got) if "1~2일 안에 출고" in (m["text"] or "")]
    assert len(order) == 1 and len(answer) == 1 and order[0] < answer[0]
    serials = [m["serial_number"] for m in customer.seen if m["kind"] == "message"]
    assert len(serials) == len(set(serials))
    # The deliverer reports outcomes to the server, which records them a moment after 상담톡 took them.
    await until(lambda: stack.query("SELECT max(attempts) FROM outbox WHERE user_key = ?", "e2e-500")[0][0] >= 4)


async def test_a_killed_server_loses_and_doubles_nothing(own_stack, http):
    customer = await reply_stuck_in_retries(http, own_stack, "e2e-kill")

    own_stack.kill_server()
    await inject_fault(http, own_stack.sim_url, "write", 503, 0)
    own_stack.start_server()

    got = await customer.wait_for(has("주문·배송 문의"), timeout=15)
    await asyncio.sleep(1.0)
    got += await customer.new_messages()
    assert texts(got).count("주문·배송 문의") == 1
    assert own_stack.query("SELECT count(*) FROM outbox WHERE status != 'delivered'") == [(0,)]


async def test_a_flow_edited_mid_session_takes_effect_on_the_next_message(own_stack, http):
    customer = await greeted(http, own_stack, "e2e-reload")
    main = own_stack.root / "flows" / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("무엇을 도와드릴까요?", "새 인사말로 바꿨어요."),
                    encoding="utf-8")
    await until(lambda: _content_version(own_stack) >= 2)

    await customer.say("처음으로")

    await customer.wait_for(has("새 인사말로 바꿨어요."))


async def test_a_broken_edit_keeps_the_old_flows_live(own_stack, http):
    customer = await greeted(http, own_stack, "e2e-broken")
    main = own_stack.root / "flows" / "main.yaml"
    main.write_text(main.read_text(encoding="utf-8").replace("goto: order.menu", "goto: order.nowhere"),
                    encoding="utf-8")
    await asyncio.sleep(2.5)

    await customer.say("처음으로")

    await customer.wait_for(has("무엇을 도와드릴까요"))
    assert _content_version(own_stack) == 1


def _content_version(stack) -> int:
    import urllib.request
    with urllib.request.urlopen(f"{stack.server_url}/healthz", timeout=2) as response:
        return json.load(response)["content_version"]
