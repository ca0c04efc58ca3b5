"""An editor previews the flows in a real browser: chat, buttons, side panel, diagram jump, hot reload."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from web.conftest import BUILD, open_tab


def bot_says(page: Page, fragment: str) -> None:
    expect(page.locator("#messages .msg.bot .bubble").filter(has_text=fragment).last).to_be_visible()


def test_an_editor_presses_buttons_sees_faq_candidates_jumps_and_picks_up_an_edit(console, browser):
    tab = open_tab(browser, console.url + "/preview")
    page = tab.page
    page.get_by_role("button", name="대화 시작").click()
    bot_says(page, "무엇을 도와드릴까요")
    expect(page.locator("#st-node")).to_have_text("main.welcome")

    page.locator("#chips").get_by_role("button", name="자주 묻는 질문").click()
    bot_says(page, "궁금하신 내용을 편하게 입력해 주세요")
    page.get_by_label("메시지 입력").fill("배송 언제 와요")
    page.get_by_label("메시지 입력").press("Enter")
    expect(page.locator("#messages .msg.user .bubble").last).to_have_text("배송 언제 와요")
    bot_says(page, "더 궁금하신 점이 있으신가요")
    expect(page.locator("#st-input")).to_have_text("배송 언제 와요")
    first = page.locator("#candidates tr").first
    expect(first.locator("td").first).to_contain_text("배송")
    assert float(first.locator("td.score").inner_text()) > 50
    expect(page.locator("#st-vars")).to_contain_text("question")
    page.screenshot(path=str(BUILD / "preview.png"))

    page.locator('.diagram .node[data-node="main.not_understood"]').click()
    bot_says(page, "말씀을 잘 이해하지 못했어요")
    expect(page.locator("#st-node")).to_have_text("main.not_understood")
    expect(page.locator('.diagram .node.current')).to_have_attribute("data-node", "main.not_understood")

    flow = console.root / "flows" / "main.yaml"
    original = flow.read_text(encoding="utf-8")
    try:
        flow.write_text(original.replace("무엇을 도와드릴까요?", "오늘은 무엇이 궁금하세요?"), encoding="utf-8")
        page.get_by_role("button", name="새 흐름으로 다시 시작").click()
        bot_says(page, "오늘은 무엇이 궁금하세요?")
        expect(page.locator("#messages .msg")).not_to_contain_text(["배송 언제 와요"])
    finally:
        flow.write_text(original, encoding="utf-8")
    assert tab.dialogs == []


def test_extra_and_returning_user_are_set_before_starting(console, browser):
    page = open_tab(browser, console.url + "/preview", width=390, height=844).page
    page.get_by_label("재방문 고객").check()
    page.get_by_role("button", name="대화 시작").click()
    bot_says(page, "다시 찾아 주셔서 감사해요")
    expect(page.locator("#st-returning")).to_have_text("예")

    page.get_by_label("extra (상담하기 버튼)").fill("topic=order&order=77")
    page.get_by_label("재방문 고객").uncheck()
    page.get_by_role("button", name="대화 시작").click()
    expect(page.locator("#st-category")).to_have_text("주문")
    expect(page.locator("#st-params")).to_contain_text(re.compile(r"order\s*77"))
    expect(page.locator("#st-returning")).to_have_text("아니요")


def test_the_diagram_is_usable_from_the_keyboard(console, browser):
    page = open_tab(browser, console.url + "/preview").page
    page.get_by_role("button", name="대화 시작").click()
    bot_says(page, "무엇을 도와드릴까요")
    node = page.locator('.diagram .node[data-node="main.bye"]')
    node.focus()
    page.keyboard.press("Enter")
    bot_says(page, "이용해 주셔서 감사합니다")


def test_a_saved_change_the_server_rejects_shows_a_banner_with_its_problems_until_fixed(console, browser):
    page = open_tab(browser, console.url + "/preview").page
    banner = page.locator("#rejected-banner")
    expect(banner).to_be_hidden()
    flow = console.root / "flows" / "main.yaml"
    original = flow.read_text(encoding="utf-8")
    try:
        flow.write_text(original.replace("goto: refund.menu", "goto: refund.mneu", 1), encoding="utf-8")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("변경 내용에 오류가 있어 이전 내용으로 동작 중이에요")
        expect(banner.locator("li")).to_have_text(['flows/main.yaml:7: goto "refund.mneu" names no node of flow '
                                                   '"refund" (did you mean "refund.menu"?)'])
    finally:
        flow.write_text(original, encoding="utf-8")
    expect(banner).to_be_hidden()
