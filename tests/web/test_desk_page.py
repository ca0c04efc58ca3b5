"""Agents at the desk in real browsers: claim, reply, transfer with a note, unread marks, failures in Korean."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

from web.conftest import AGENTS, BUILD, Tab, open_tab

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def login(tab: Tab, agent: str) -> Page:
    page = tab.page
    page.get_by_label("상담원 토큰").fill(AGENTS[agent]["token"])
    page.get_by_role("button", name="로그인").click()
    expect(page.locator("#me-name")).to_contain_text(AGENTS[agent]["name"])
    page.get_by_label("상태").select_option("away")
    expect(page.locator("#presence")).to_have_value("away")
    return page


def eventually(check, timeout: float = 8.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_two_agents_share_the_queue_and_one_takes_the_customer_back_to_the_bot(console, browser):
    kim_tab, lee_tab = open_tab(browser, console.url + "/desk"), open_tab(browser, console.url + "/desk", 390, 844)
    kim, lee = login(kim_tab, "kim"), login(lee_tab, "lee")
    console.customer("desk-c1", "consult", {"extra": "topic=order&order=77"})
    console.customer("desk-c1", "messages", {"text": "상담원"})

    waiting = kim.locator("#queues button").filter(has_text="1번째")
    expect(waiting).to_contain_text("주문")
    expect(lee.locator("#queues button").filter(has_text="1번째")).to_be_visible()
    expect(kim).to_have_title("(1) 상담 데스크")
    waiting.click()
    expect(kim.locator("#packet-facts")).to_contain_text("고객이 상담원을 요청했어요")
    expect(kim.locator("#packet-facts")).to_contain_text("77")
    kim.get_by_role("button", name="이 상담 받기").click()

    expect(lee.locator("#queues")).to_contain_text("대기 중인 상담이 없어요")
    expect(lee.locator("#queues button")).to_have_count(0)
    expect(kim.locator("#mine button")).to_have_count(1)
    expect(kim.locator("#load")).to_contain_text("1/3")

    kim.get_by_label("답장").fill("안녕하세요, 김상담입니다. 주문 77 확인해 드릴게요.")
    kim.get_by_role("button", name="보내기", exact=True).click()
    eventually(lambda: "안녕하세요, 김상담입니다. 주문 77 확인해 드릴게요." in console.delivered("desk-c1"))
    expect(kim.locator("#transcript li.phase-agent.out").last).to_contain_text("김상담입니다")
    expect(kim.locator("#transcript li.phase-bot").first).to_be_visible()

    console.customer("desk-c1", "messages", {"text": HOSTILE})
    expect(kim.locator("#transcript li.in").last).to_contain_text(HOSTILE)
    assert kim.locator("#transcript img").count() == 0
    kim.get_by_label("자주 쓰는 답변").select_option(index=1)
    expect(kim.get_by_label("답장")).not_to_have_value("")
    kim.screenshot(path=str(BUILD / "desk.png"), full_page=True)

    kim.get_by_role("button", name="봇으로 돌려보내기").click()
    expect(kim.locator("#mine")).to_contain_text("맡은 상담이 없어요")
    console.customer("desk-c1", "messages", {"text": "처음으로"})
    eventually(lambda: any("무엇을 도와드릴까요" in text for text in console.delivered("desk-c1")[-3:]))
    assert kim_tab.dialogs == [] and lee_tab.dialogs == []


def test_a_wrong_token_is_refused_with_a_message(console, browser):
    page = open_tab(browser, console.url + "/desk").page
    page.get_by_label("상담원 토큰").fill("not-a-token")
    page.get_by_role("button", name="로그인").click()
    expect(page.get_by_role("alert").first).to_have_text("토큰이 맞지 않아요.")
    expect(page.locator("#desk")).to_be_hidden()


NOTE = "고객님이 사진으로 불량 확인해 주셨고 환불 승인만 남았습니다"


def test_a_transfer_note_and_a_new_customer_message_reach_the_receiving_agent(console, browser):
    kim, lee = (login(open_tab(browser, console.url + "/desk"), agent) for agent in ("kim", "lee"))
    console.customer("desk-t1", "consult", {"extra": "topic=order&order=88"})
    console.customer("desk-t1", "messages", {"text": "상담원"})
    kim.locator("#queues button").filter(has_text="1번째").click()
    kim.get_by_role("button", name="이 상담 받기").click()
    expect(kim.locator("#packet-facts")).to_contain_text("상담 중")
    expect(kim.get_by_label("넘기기")).to_contain_text("상담원 이상담 (자리 비움)")
    kim.get_by_label("넘기기").select_option("agent:lee")
    kim.get_by_label("메모").fill(NOTE)
    kim.locator("#transfer-form").get_by_role("button", name="넘기기").click()

    mine = lee.locator("#mine button")
    expect(mine).to_contain_text("주문 · 고객 desk-t1")
    expect(mine).to_contain_text("[주문] 주문 88")
    console.customer("desk-t1", "messages", {"text": "사진 다시 보낼까요?"})
    expect(mine.locator(".unread-mark")).to_have_text("새 메시지")
    mine.click()
    expect(lee.locator("#transcript li.in").last).to_contain_text("사진 다시 보낼까요?")
    expect(lee.locator("#mine .unread-mark")).to_have_count(0)
    expect(lee.locator("#transfers")).to_contain_text("상담원 김상담 → 상담원 이상담")
    expect(lee.locator("#transfers")).to_contain_text(NOTE)
    lee.get_by_role("button", name="상담 종료").click()
    expect(lee.locator("#mine")).to_contain_text("맡은 상담이 없어요")


def test_a_reply_to_a_conversation_closed_meanwhile_stays_in_the_box_with_the_reason_in_korean(console, browser):
    console.customer("desk-t2", "consult", {"extra": "topic=order"})
    console.customer("desk-t2", "messages", {"text": "상담원"})
    tab = open_tab(browser, console.url + "/desk")
    tab.page.route("**/api/v1/events", lambda route: route.abort())
    kim = login(tab, "kim")
    kim.locator("#queues button").first.click()
    kim.get_by_role("button", name="이 상담 받기").click()
    ticket = kim.locator("#mine button").first.get_attribute("data-ticket")
    reply = "주문하신 상품은 내일 오전에 다시 출고될 예정이에요. 출고되면 알림톡으로 송장번호를 보내 드릴게요."
    kim.get_by_label("답장").fill(reply)

    console.customer("desk-t2", "leave")
    token = {"Authorization": f"Bearer {AGENTS['kim']['token']}"}
    eventually(lambda: console.request("GET", f"/api/v1/conversations/{ticket}", headers=token)[2]
               ["ticket"]["status"] == "closed")
    kim.get_by_role("button", name="보내기", exact=True).click()

    expect(kim.locator("#desk-error")).to_have_text("이미 종료된 상담이에요.")
    expect(kim.locator("#packet-facts")).to_contain_text("종료됨")
    expect(kim.get_by_label("답장")).to_have_value(reply)
    expect(kim.get_by_role("button", name="보내기", exact=True)).to_be_disabled()
