"""The conversation-test runner: reading editors' test files, running them, explaining failures."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from triage.content import load_content
from triage.flows import engine
from triage.flows.conversation_test import (DEFAULT_NOW, ConversationTest, Step, load_tests, report, run_test,
                                            summary)

ROOT = Path(__file__).parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
INVALID = FIXTURES / "invalid_conversations"


@pytest.fixture(scope="module")
def shop():
    content, problems = load_content(ROOT)
    assert content is not None, problems
    return content


def conversation_test(*steps: tuple[str, object], extra: str = "", now: datetime = DEFAULT_NOW,
                      returning: bool = False) -> ConversationTest:
    return ConversationTest("테스트", "t.yaml", 1, tuple(Step(k, v, i + 2) for i, (k, v) in enumerate(steps)),
                            extra, returning, now)


# ---- reading test files --------------------------------------------------------------------


def test_every_mistake_in_a_test_file_is_reported_at_its_line():
    tests, problems = load_tests([INVALID / "mistakes.yaml"], ROOT)
    path = "tests/fixtures/invalid_conversations/mistakes.yaml"
    assert [str(p) for p in problems] == [
        f'{path}:5: unknown step "bott" (did you mean "bot"?) (step keys: user, photo, bot, bot_exact, buttons, '
        f"link, handoff, ended, vars, category)",
        f'{path}:9: this step has 2 keys (user, bot); give each its own "- " line, in the order they happen',
        f"{path}:14: buttons: must be a list of labels such as [배송 조회, 처음으로]",
        f'{path}:17: now must be a local date and time like "2026-11-25T10:30"',
        f'{path}:22: unknown key "stepz" in a test (did you mean "steps"?)',
        f"{path}:21: a test needs a list of steps:",
        f"{path}:27: ended: must be true or false",
        f'{path}:37: test name "잘 쓴 테스트" is used twice (also at line 29)',
    ]
    assert [t.line for t in tests] == [29, 37]


def test_a_well_written_test_is_read_as_the_editor_wrote_it():
    tests, _ = load_tests([INVALID / "mistakes.yaml"], ROOT)
    test = tests[0]
    assert (test.name, test.extra, test.now) == ("잘 쓴 테스트", "topic=order", datetime(2026, 11, 29, 10, 0))
    assert test.steps == (Step("user", "1", 33), Step("buttons", ["배송 조회", "2"], 34),
                          Step("vars", {"order_id": "order-20231114-77"}, 35))
    assert tests[1].now == DEFAULT_NOW and tests[1].steps == (Step("photo", True, 39),)


def test_a_file_that_is_not_a_list_of_tests_is_a_problem():
    tests, problems = load_tests([INVALID / "not_a_list.yaml"], ROOT)
    assert tests == []
    assert [str(p) for p in problems] == [
        "tests/fixtures/invalid_conversations/not_a_list.yaml:2: a test file is a list of tests, "
        "each starting with - name:"]


def test_a_missing_path_is_a_problem_not_a_traceback():
    tests, problems = load_tests([FIXTURES / "no_such_tests.yaml"], ROOT)
    assert tests == []
    assert [(p.path, p.line) for p in problems] == [("tests/fixtures/no_such_tests.yaml", 1)]
    assert "cannot read file" in problems[0].message


def test_an_empty_directory_has_no_tests_to_run(tmp_path):
    tests, problems = load_tests([tmp_path])
    assert tests == [] and "no conversation tests found" in problems[0].message


# ---- running -------------------------------------------------------------------------------


def test_bot_matches_any_text_sent_since_the_last_message_including_button_and_link_labels(shop):
    test = conversation_test(("bot", "주문·배송 문의"), ("bot", "배송지 변경"), ("user", "교환 안내"),
                             ("bot", "교환·반품 정책"), extra="topic=order")
    assert run_test(shop, test).passed


def test_bot_does_not_look_back_before_the_last_message(shop):
    outcome = run_test(shop, conversation_test(("user", "주문/배송"), ("bot", "무엇을 도와드릴까요?")))
    assert outcome.failed == Step("bot", "무엇을 도와드릴까요?", 3)
    assert "주문·배송 문의를 도와드릴게요." in outcome.actual


def test_bot_exact_wants_one_whole_bubble(shop):
    exact = run_test(shop, conversation_test(("user", "교환 안내"), ("bot_exact", "더 궁금하신 점이 있으신가요?"),
                                             extra="topic=order"))
    partial = run_test(shop, conversation_test(("user", "교환 안내"), ("bot_exact", "더 궁금하신 점"),
                                               extra="topic=order"))
    assert exact.passed and not partial.passed


def test_buttons_must_be_exactly_the_last_menu(shop):
    assert run_test(shop, conversation_test(("buttons", ["회원 등급 안내", "적립금 조회", "쿠폰 안내", "처음으로"]),
                                            extra="topic=membership")).passed
    fewer = run_test(shop, conversation_test(("buttons", ["회원 등급 안내", "쿠폰 안내", "처음으로", "포인트"]),
                                             extra="topic=membership"))
    assert fewer.actual == ("[회원 등급 안내, 적립금 조회, 쿠폰 안내, 처음으로]\n"
                            "(missing [포인트]; not expected [적립금 조회])")


def test_link_handoff_vars_category_and_ended(shop):
    test = conversation_test(("user", "환불 신청"), ("vars", {"order_id": "order-20231120-3"}), ("category", "환불"),
                             ("handoff", False), ("user", "단순 변심"), ("handoff", "claims"), ("ended", False),
                             extra="topic=refund&order=order-20231120-3")
    assert run_test(shop, test).passed
    wrong_queue = run_test(shop, conversation_test(("user", "상담원"), ("handoff", "vip")))
    assert wrong_queue.actual == "waiting in queue general"
    no_link = run_test(shop, conversation_test(("link", "https://shop.example.com/")))
    assert no_link.actual == "(no links)"


def test_the_clock_is_a_wednesday_morning_unless_the_test_sets_now(shop):
    asks_agent = (("user", "상담원"), ("handoff", "general"))
    assert run_test(shop, conversation_test(*asks_agent)).passed
    sunday = run_test(shop, conversation_test(*asks_agent, now=datetime(2026, 11, 29, 10, 0)))
    assert sunday.actual == "the bot still has the session (at after_hours.menu)"


def test_a_time_with_an_offset_is_converted_to_the_site_time_zone(shop):
    # 01:30 UTC is 10:30 in Seoul: open.
    utc = datetime.fromisoformat("2026-11-25T01:30+00:00")
    assert run_test(shop, conversation_test(("user", "상담원"), ("handoff", "general"), now=utc)).passed


def test_returning_users_are_greeted_as_returning(shop):
    assert run_test(shop, conversation_test(("bot", "다시 찾아 주셔서"), returning=True)).passed
    assert not run_test(shop, conversation_test(("bot", "다시 찾아 주셔서"))).passed


def test_an_engine_error_fails_that_test_with_the_reason(shop, monkeypatch):
    def broken(content, state, event, now):
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "step", broken)
    outcome = run_test(shop, conversation_test(("bot", "안녕하세요")))
    assert outcome.failed == Step("start", "", 1)
    assert outcome.actual == "the engine raised RuntimeError: boom"


# ---- reporting -----------------------------------------------------------------------------


def test_a_failure_report_shows_the_step_expected_actual_and_the_chat(shop):
    outcome = run_test(shop, conversation_test(("user", "2"), ("bot", "환불 완료")))
    assert report(outcome)[:4] == ["✗ 테스트 (t.yaml:1)", "  step bot at t.yaml:3", "  expected: 환불 완료",
                                   "  actual:   취소·환불 문의를 도와드릴게요. 원하시는 항목을 골라 주세요."]
    assert report(outcome)[-3:] == [
        "    사용자: 2",
        "    봇: 취소·환불 문의를 도와드릴게요. 원하시는 항목을 골라 주세요.",
        "        [1] 주문 취소  [2] 환불 진행 조회  [3] 환불 신청  [4] 교환/반품  [5] 처음으로",
    ]


def test_the_summary_counts_passes_and_failures(shop):
    outcomes = [run_test(shop, conversation_test(("bot", "안녕하세요"))),
                run_test(shop, conversation_test(("bot", "없는 말")))]
    assert summary(outcomes) == "1 passed, 1 failed"
    assert report(outcomes[0]) == ["✓ 테스트"]
