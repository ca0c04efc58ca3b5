"""``triage validate`` through the real CLI: what an editor sees and the exit code CI checks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from triage.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
TRIAGE = Path(sys.executable).with_name("triage")
NO_SENDER_KEY = ("warning: channel.sender_key is missing, so the example key is used, which Kakao refuses "
                 "for a real channel: set your channel's own")


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_clean_site_passes_and_counts_what_it_checked_with_its_warnings(capsys):
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "validate_ok"))
    assert lines == [
        f"{FIXTURES / 'validate_ok' / 'triage.yaml'}:1: {NO_SENDER_KEY}",
        'flows/main.yaml:12: warning: node "unused" is never reached: no route, keyword, button or goto leads to it',
        "OK: 2 flows, 5 nodes, 2 FAQ entries (2 warnings)",
    ]
    assert code == 0


def test_a_broken_site_lists_every_problem_sorted_by_file_and_line_and_fails(capsys):
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "broken_flows"))
    assert code == 1
    assert lines[-1] == "45 errors, 4 warnings in 10 files"
    problems = lines[:-1]
    assert len(problems) == 49
    assert problems == sorted(problems, key=lambda line: (line.split(":")[0], int(line.split(":")[1])))
    assert 'flows/syntax.yaml:5: YAML syntax error: found unexpected end of stream ' \
           '(while scanning a quoted scalar on line 3)' in problems
    assert 'flows/keys.yaml:1: unknown key "fallbak" in the flow (did you mean "fallback"?)' in problems
    assert 'flows/twin_b.yaml:1: duplicate flow id "twin" (also in flows/twin_a.yaml:1)' in problems
    assert 'flows/names.yaml:5: queue "claim" is not defined in triage.yaml (did you mean "claims"?)' in problems


def test_each_image_file_that_cannot_be_sent_is_named_at_its_line_but_not_a_templated_one(capsys, tmp_path):
    root = shutil.copytree(FIXTURES / "broken_images", tmp_path / "site")
    (root / "images" / "big.gif").write_bytes(b"GIF89a" + bytes(5 * 1024 * 1024))
    outside = tmp_path / "elsewhere.png"
    shutil.copy(root / "images" / "size-guide.png", outside)
    (root / "images" / "escape.png").symlink_to(outside)

    code, lines, err = validate(capsys, "--root", str(root))

    assert lines == [
        f"{root / 'triage.yaml'}:2: {NO_SENDER_KEY}",
        'faq/faq.yaml:10: image "images/returns-label.jpg" is not a file in the content root; '
        "put it there, or give an address starting with https://",
        'flows/main.yaml:21: image "images/nothing-here.png" is not a file in the content root; '
        "put it there, or give an address starting with https://",
        'flows/main.yaml:25: image "images/fake.png" is not a jpg, png or gif image (judged by its content, not its name)',
        'flows/main.yaml:29: image "../secret.png" leaves the content root (".."); keep images inside it',
        'flows/main.yaml:33: image "/etc/passwd" is an absolute path; write it relative to the content root, '
        "like images/size-guide.png",
        'flows/main.yaml:37: image "images/big.gif" is 5,242,886 bytes; 상담톡 takes images of at most 5 MB '
        "(5,242,880 bytes)",
        'flows/main.yaml:41: image "images/escape.png" is a symbolic link leading out of the content root',
        "flows/main.yaml:45: warning: vars.picture is never saved: no ask saves it and no set sets it, "
        "so it is always empty",
        "7 errors, 2 warnings in 3 files",
    ]
    assert code == 1 and err == ""


def test_files_that_are_not_flows_are_reported_without_a_traceback(capsys):
    code, lines, err = validate(capsys, "--root", str(FIXTURES / "broken_files"))
    assert lines == [
        "flows/binary.yaml:1: this is a binary file, not YAML text",
        "flows/empty.yaml:1: the file is empty",
        "flows/euckr.yaml:3: the file is not UTF-8 text",
        "flows/list.yaml:1: a flow file must be a mapping with nodes:, but this is a list",
        "4 errors, 0 warnings in 4 files",
    ]
    assert code == 1 and err == ""


def test_paths_limit_the_check_to_the_files_given(capsys):
    root = FIXTURES / "validate_ok"
    code, lines, _ = validate(capsys, "--root", str(root), str(root / "flows" / "main.yaml"))
    assert code == 1
    assert lines == [
        f"{root / 'triage.yaml'}:1: {NO_SENDER_KEY}",
        'flows/main.yaml:4: keyword "상담원" goes to "order.agent", which names a flow "order" that does not exist',
        'flows/main.yaml:10: goto "order.question" names a flow "order" that does not exist',
        'flows/main.yaml:11: goto "order.agent" names a flow "order" that does not exist',
        'flows/main.yaml:12: warning: node "unused" is never reached: no route, keyword, button or goto leads to it',
        "3 errors, 2 warnings in 2 files",
    ]


def test_a_path_that_does_not_exist_is_a_problem_not_a_crash(capsys, tmp_path):
    missing = tmp_path / "no_such_dir"
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "validate_ok"), str(missing))
    *problems, summary = lines
    assert sorted(problems) == sorted([f"{missing}:1: cannot read file: No such file or directory",
                                       f"{FIXTURES / 'validate_ok' / 'triage.yaml'}:1: {NO_SENDER_KEY}"])
    assert (summary, code) == ("1 error, 1 warning in 2 files", 1)


def test_a_root_that_does_not_exist_is_named(capsys, tmp_path):
    code, lines, err = validate(capsys, "--root", str(tmp_path / "nowhere"))
    assert (code, lines) == (2, [])
    assert err == f"triage validate: --root {tmp_path / 'nowhere'} is not a directory\n"


def test_the_installed_script_exits_1_on_errors_and_0_on_warnings():
    broken = subprocess.run([str(TRIAGE), "validate", "--root", str(FIXTURES / "broken_files")],
                            capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert broken.stdout.splitlines()[-1] == "4 errors, 0 warnings in 4 files"
    assert broken.stderr == ""
    clean = subprocess.run([str(TRIAGE), "validate"], cwd=FIXTURES / "validate_ok",
                           capture_output=True, text=True, timeout=60)
    assert clean.returncode == 0
    assert clean.stdout.splitlines()[-1] == "OK: 2 flows, 5 nodes, 2 FAQ entries (2 warnings)"


SLIPS = FIXTURES / "validate_slips"


def flow_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("flows/")]


def copy_with(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """The slips site with one line of one flow file changed, as an editor's save would."""
    root = shutil.copytree(SLIPS, tmp_path / "site")
    path = root / "flows" / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return root


def test_a_button_labelled_like_a_global_keyword_that_goes_elsewhere_is_warned_at_its_line(capsys):
    code, lines, _ = validate(capsys, "--root", str(SLIPS))
    assert 'flows/returns.yaml:7: warning: button "상담원 연결" is also the global keyword "상담원 연결" ' \
           '(flows/main.yaml:4), and keywords come first: pressing it goes to "main.agent", not "agent"; ' \
           "rename the label, or point the button and the keyword at the same node" in lines
    assert not [line for line in lines if '"처음으로"' in line], "a button going where its keyword goes is fine"
    assert code == 0


def test_a_keyword_matches_a_label_after_the_engine_s_folding_of_spaces(capsys, tmp_path):
    root = copy_with(tmp_path, "returns.yaml", "label: 상담원 연결", 'label: " 상담원   연결 "')
    _, lines, _ = validate(capsys, "--root", str(root))
    assert any(line.startswith('flows/returns.yaml:7: warning: button "상담원   연결" is also the global keyword')
               for line in lines)


def test_a_var_nothing_saves_is_warned_at_its_template_with_the_saved_name_it_is_closest_to(capsys):
    code, lines, _ = validate(capsys, "--root", str(SLIPS))
    assert flow_lines(lines) == [
        "flows/main.yaml:19: warning: vars.orderid is never saved: no ask saves it and no set sets it, "
        'so it is always empty (did you mean "order_id"?)',
        'flows/returns.yaml:7: warning: button "상담원 연결" is also the global keyword "상담원 연결" '
        '(flows/main.yaml:4), and keywords come first: pressing it goes to "main.agent", not "agent"; '
        "rename the label, or point the button and the keyword at the same node",
    ]
    assert code == 0


def test_vars_read_in_a_when_or_by_subscript_count_and_the_engine_s_own_vars_are_known(capsys, tmp_path):
    root = copy_with(tmp_path, "main.yaml", "    goto: agent\n",
                     "    goto: decide\n  decide:\n    check:\n"
                     "      - { when: \"vars['reson'] or vars.consent or vars.last_media\", goto: agent }\n"
                     "    else: agent\n")
    _, lines, _ = validate(capsys, "--root", str(root))
    assert "flows/main.yaml:23: warning: vars.reson is never saved: no ask saves it and no set sets it, " \
           'so it is always empty (did you mean "reason"?)' in lines
    assert not [line for line in lines if "vars.consent" in line or "vars.last_media" in line]


def test_a_mis_indented_line_is_one_plain_error_and_references_into_that_file_stay_quiet(capsys, tmp_path):
    root = copy_with(tmp_path, "returns.yaml", "    save: reason", "   save: reason")
    code, lines, _ = validate(capsys, "--root", str(root))
    assert flow_lines(lines) == [
        "flows/main.yaml:19: warning: vars.orderid is never saved: no ask saves it and no set sets it, "
        'so it is always empty (did you mean "order_id"?)',
        "flows/returns.yaml:10: YAML syntax error: did not find expected key (while parsing a block mapping on "
        "line 2): check the indentation: this line or the one above starts in a different column from the keys "
        "it belongs with",
    ]
    assert code == 1


def test_a_broken_entry_flow_is_its_own_error_only(capsys, tmp_path):
    root = copy_with(tmp_path, "main.yaml", "  order_number:", " order_number:")
    code, lines, _ = validate(capsys, "--root", str(root))
    [problem] = flow_lines(lines)
    assert problem.startswith("flows/main.yaml:13: YAML syntax error: ")
    assert code == 1


@pytest.mark.parametrize("old, new, hint", [
    ("say: 반품을 도와드릴게요.", "say: 반품: 도와드릴게요.", 'a text with ": " in it needs quotes'),
    ("    save: reason", "\tsave: reason", "indent with spaces"),
])
def test_common_yaml_slips_are_explained_after_the_parser_s_words(capsys, tmp_path, old, new, hint):
    root = copy_with(tmp_path, "returns.yaml", old, new)
    _, lines, _ = validate(capsys, "--root", str(root))
    [problem] = [line for line in flow_lines(lines) if "YAML syntax error" in line]
    assert problem.startswith("flows/returns.yaml:") and hint in problem


def test_the_same_hints_explain_slips_in_triage_yaml_and_the_faq(capsys, tmp_path):
    root = shutil.copytree(SLIPS, tmp_path / "site")
    settings = root / "triage.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("  claims: {}", "\tclaims: {}"), encoding="utf-8")
    faq = root / "faq" / "delivery.yaml"
    faq.write_text("- id: fee\n  q: 배송비: 얼마예요?\n  a: 3,000원이에요.\n", encoding="utf-8")
    code, lines, _ = validate(capsys, "--root", str(root))
    [settings_problem] = [line for line in lines if line.startswith(f"{settings}:")]
    [faq_problem] = [line for line in lines if line.startswith("faq/delivery.yaml:")]
    assert "YAML syntax error" in settings_problem and "indent with spaces" in settings_problem
    assert "YAML syntax error" in faq_problem and 'a text with ": " in it needs quotes' in faq_problem
    assert code == 1


def test_an_unreadable_triage_yaml_is_reported_alone_not_with_what_its_defaults_would_miss(capsys, tmp_path):
    root = shutil.copytree(SLIPS, tmp_path / "site")
    settings = root / "triage.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("  claims: {}", "\tclaims: {}"), encoding="utf-8")
    code, lines, _ = validate(capsys, "--root", str(root))
    assert [line for line in lines if "queue" in line or "sender_key" in line] == []
    assert any(line.startswith(f"{settings}:5: YAML syntax error") for line in lines)
    assert code == 1
