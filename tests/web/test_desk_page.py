"""Two agents at the desk in two browsers: claim, reply, the queue empties for both, close-to-bot."""

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
    expect(kim.locator("#packet-facts")).to_contain_text("user_asked")
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
