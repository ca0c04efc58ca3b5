"""The validator's privacy rules: the notice leads every session, personal data waits for consent.

The notice rule must agree with the engine exactly, so besides pinning the problems on
tests/fixtures/broken_privacy, these tests run the engine down each start path of the same
flows and look at the first message a user would get.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from engine_support import SEOUL, WEDNESDAY_10, load_site

from triage.content import Content, load_content
from triage.flows.engine import new_state, step
from triage.flows.session import (Action, EndSession, Event, Reference, SendButtons, SendImage, SendLinks, SendText,
                                  Start, UserInfo, UserText)
from triage.flows.validate import validate
from triage.problems import Problem
from triage.settings import Privacy

SITE = Path(__file__).parents[1] / "fixtures" / "broken_privacy"
NOTICE = "상담 내용은 1년간 보관됩니다."
AFTERNOON = datetime(2026, 11, 25, 15, 0, tzinfo=SEOUL)


@pytest.fixture(scope="module")
def problems() -> list[Problem]:
    content, found = load_content(SITE)
    assert content is None
    return found


def lines_in(problems: list[Problem], path: str) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in problems if p.path == path]


def test_a_notice_too_long_for_one_message_is_an_error_on_its_line(problems):
    assert lines_in(problems, "triage.yaml") == [
        (6, "privacy.notice has 1199 characters; it must fit in the first message, at most 1000"),
    ]


def test_start_paths_that_send_something_before_the_notice_are_errors(problems):
    notice_problems = [p for p in lines_in(problems, "flows/main.yaml") if "notice" in p[1]]
    assert notice_problems == [
        (40, '"promo" sends an image before any text on the start path (route (line 4): promo_gate -> promo), '
             "so the privacy notice would not be on the first message; send a text before the image"),
        (44, '"silent_end" ends the session before any message on the start path (route (line 6): silent_end), '
             "so the privacy notice would not be on the first message; give end a goodbye text"),
        (47, '"event_faq" can answer with an FAQ entry whose image comes before its text on the start path '
             "(start: opening -> event_faq), so the privacy notice would not be on the first message; "
             "send a text before this faq node"),
        (58, '"link_menu" sends links without a text, then goes on on the start path (route (line 10): link_menu), '
             "so the privacy notice would not be on the first message; give the links a text"),
    ]


def test_personal_data_reachable_without_an_agreeing_consent_is_an_error(problems):
    consent_problems = [p for p in problems if "consent" in p.message]
    assert [(p.path, p.line, p.message) for p in consent_problems] == [
        ("flows/contact.yaml", 28, 'ask "nickname" collects personal data (pii: true) but is reached without consent '
                                   "(start: main.opening -> main.welcome -> join -> nickname); put a consent node "
                                   "before it and go on from its agree"),
        ("flows/main.yaml", 74, 'ask "card" collects personal data (validate: card) but is reached without consent '
                                "(start: opening -> welcome -> card_consent -> card); put a consent node before it "
                                "and go on from its agree"),
        ("flows/main.yaml", 80, 'ask "phone_direct" collects personal data (validate: phone) but is reached without '
                                'consent (keyword "번호": phone_direct); put a consent node before it and go on from '
                                "its agree"),
    ]


def test_asks_only_reached_through_agree_are_accepted(problems):
    """contact.phone and contact.email follow contact.consent's agree, and nothing else leads there."""
    assert lines_in(problems, "flows/contact.yaml") == [(28, problems_about("nickname", problems))]


def problems_about(name: str, problems: list[Problem]) -> str:
    return next(p.message for p in problems if f'"{name}"' in p.message)


def test_without_a_notice_there_is_nothing_to_lead_with(problems):
    site = load_site(SITE)
    quiet = replace(site.settings, privacy=Privacy(notice=None))
    found = validate(site.flows, quiet, site.faq)
    assert not [p for p in found if "notice" in p.message]
    assert len([p for p in found if "consent" in p.message]) == 3


# ---- the engine agrees: what the first message of each start path is ---------------------

@pytest.fixture(scope="module")
def short_notice() -> Content:
    """The fixture's flows with a notice that fits, so only the start paths decide."""
    site = load_site(SITE)
    return replace(site, settings=replace(site.settings, privacy=Privacy(notice=NOTICE)))


def first_message(content: Content, event: Event, now: datetime = WEDNESDAY_10) -> Action:
    """What the user gets first: a bubble, or the end of the session."""
    _, actions = step(content, new_state("s", UserInfo("u"), now), event, now)
    return next(a for a in actions if isinstance(a, (SendText, SendButtons, SendLinks, SendImage, EndSession)))


def carries_notice(action: Action) -> bool:
    return isinstance(action, (SendText, SendButtons, SendLinks)) and action.text.startswith(NOTICE)


@pytest.mark.parametrize("event, now", [
    (Start(Reference(extra="topic=delivery")), WEDNESDAY_10),
    (Start(Reference(extra="topic=shop")), WEDNESDAY_10),
    (Start(), WEDNESDAY_10),
    (Start(), AFTERNOON),
    (UserText("배송은 언제 오나요?"), AFTERNOON),
    (Start(Reference(extra="topic=promo")), AFTERNOON),
], ids=["faq-without-images", "links-alone", "faq-prompt", "welcome", "text-start", "promo-gate-closed"])
def test_on_every_accepted_start_path_the_first_message_carries_the_notice(short_notice, event, now):
    assert carries_notice(first_message(short_notice, event, now))


@pytest.mark.parametrize("event, first", [
    (Start(Reference(extra="topic=promo")), SendImage),
    (Start(Reference(extra="topic=bye")), EndSession),
    (Start(Reference(extra="topic=links")), SendLinks),
    (UserText("이벤트 있나요?"), SendImage),
], ids=["promo-image", "silent-end", "links-then-text", "faq-image-answer"])
def test_on_every_rejected_start_path_something_else_comes_first(short_notice, event, first):
    assert isinstance(first_message(short_notice, event), first)


def test_a_notice_over_the_limit_is_cut_across_two_messages():
    site = load_site(SITE)
    notice = site.settings.privacy.notice
    shown = first_message(site, Start(), AFTERNOON)
    assert isinstance(shown, SendText) and notice.startswith(shown.text) and shown.text != notice
