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


def validate(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_a_clean_site_passes_and_counts_what_it_checked_with_its_warnings(capsys):
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "validate_ok"))
    assert lines == [
        'flows/main.yaml:12: warning: node "unused" is never reached: no route, keyword, button or goto leads to it',
        "OK: 2 flows, 5 nodes, 2 FAQ entries (1 warning)",
    ]
    assert code == 0


def test_a_broken_site_lists_every_problem_sorted_by_file_and_line_and_fails(capsys):
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "broken_flows"))
    assert code == 1
    assert lines[-1] == "45 errors, 3 warnings in 9 files"
    problems = lines[:-1]
    assert len(problems) == 48
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
        "7 errors, 0 warnings in 2 files",
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
        'flows/main.yaml:4: keyword "상담원" goes to "order.agent", which names a flow "order" that does not exist',
        'flows/main.yaml:10: goto "order.question" names a flow "order" that does not exist',
        'flows/main.yaml:11: goto "order.agent" names a flow "order" that does not exist',
        'flows/main.yaml:12: warning: node "unused" is never reached: no route, keyword, button or goto leads to it',
        "3 errors, 1 warning in 1 file",
    ]


def test_a_path_that_does_not_exist_is_a_problem_not_a_crash(capsys, tmp_path):
    missing = tmp_path / "no_such_dir"
    code, lines, _ = validate(capsys, "--root", str(FIXTURES / "validate_ok"), str(missing))
    assert lines == [f"{missing}:1: cannot read file: No such file or directory", "1 error, 0 warnings in 1 file"]
    assert code == 1


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
    assert clean.stdout.splitlines()[-1] == "OK: 2 flows, 5 nodes, 2 FAQ entries (1 warning)"
