"""``triage validate`` reports the agents:, handoff: and webhooks: sections with the rest of the site."""

from __future__ import annotations

from pathlib import Path

from triage.cli import main
from triage.content import load_content

FIXTURES = Path(__file__).parents[1] / "fixtures"


def test_mistakes_in_the_handoff_sections_are_listed_at_their_lines_and_fail_validation(capsys):
    root = FIXTURES / "broken_handoff"
    code = main(["validate", "--root", str(root)])
    out, err = capsys.readouterr()
    file = root / "triage.yaml"
    assert out.splitlines() == [
        f"{file}:2: warning: channel.sender_key is missing, so the example key is used, which Kakao refuses "
        "for a real channel: set your channel's own",
        f'{file}:8: "max_concurrent" must be between 1 and 50',
        f'{file}:10: assignment "round-robin" must be one of least_busy, round_robin (did you mean "round_robin"?)',
        f'{file}:13: "queue_end" (300s) must come after "queue_reminder" (600s)',
        f'{file}:15: webhook url "ftp://desk.example.com/hook" must start with https:// (or http://)',
        f'{file}:16: webhooks need a "secret" of at least 16 characters to sign with',
        f'{file}:17: unknown event "assinged" (did you mean "assigned"?)',
        "6 errors, 1 warning in 1 file",
    ]
    assert (code, err) == (1, "")


def test_a_server_cannot_load_content_whose_desk_is_misconfigured():
    content, problems = load_content(FIXTURES / "broken_handoff")
    assert content is None and len(problems) == 6


def test_warnings_in_the_agents_section_leave_the_site_valid(capsys):
    code = main(["validate", "--root", str(FIXTURES / "validate_ok_desk")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert 'warning: agent "kim" has a token shorter than 16 characters' in out
