"""YAML with line marks: every key and item knows its line; bad files are problems."""

from __future__ import annotations

from pathlib import Path

import yaml

from triage.yamlmarks import MarkedDict, MarkedList, line_of, parse_yaml, read_yaml

FIXTURES = Path(__file__).parent / "fixtures"


def test_keys_and_items_remember_their_lines():
    data, problems = parse_yaml("a: 1\nb:\n  - x\n  - y: 2\n    z: 3\n", "f.yaml")
    assert problems == []
    assert isinstance(data, MarkedDict) and isinstance(data["b"], MarkedList)
    assert (data.line, data.line_of("a"), data.line_of("b")) == (1, 1, 2)
    assert data["b"].item_lines == [3, 4]
    assert data["b"][1].line_of("z") == 5
    assert line_of(data["b"], 1) == 4 and line_of(data, "missing") == 1 and line_of("text", 0, 7) == 7


def test_duplicate_keys_are_problems_at_the_second_one():
    _, problems = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [str(p) for p in problems] == ['f.yaml:3: duplicate key "a"']


def test_syntax_errors_point_at_the_problem_and_say_where_the_construct_began():
    _, problems = parse_yaml('a: "open\nb: 2\n', "f.yaml")
    assert [str(p) for p in problems] == [
        "f.yaml:3: YAML syntax error: found unexpected end of stream (while scanning a quoted scalar on line 1)"]


def test_python_tags_and_recursive_aliases_are_refused_without_running_anything():
    _, tagged = parse_yaml("a: !!python/object/apply:os.system [echo hi]\n", "f.yaml")
    _, recursive = parse_yaml("a: &x [*x]\n", "f.yaml")
    assert "could not determine a constructor" in tagged[0].message
    assert "recursive" in recursive[0].message


def test_the_global_yaml_loaders_are_left_alone():
    assert type(yaml.safe_load("a: 1")) is dict


def test_unreadable_files_are_problems_not_tracebacks(tmp_path):
    flows = FIXTURES / "broken_files" / "flows"
    results = {name: [str(p) for p in read_yaml(flows / name, name)[1]]
               for name in ("binary.yaml", "empty.yaml", "euckr.yaml")}
    assert results == {
        "binary.yaml": ["binary.yaml:1: this is a binary file, not YAML text"],
        "empty.yaml": ["empty.yaml:1: the file is empty"],
        "euckr.yaml": ["euckr.yaml:3: the file is not UTF-8 text"],
    }
    missing = [p.message for p in read_yaml(tmp_path / "none.yaml")[1]]
    assert missing == ["cannot read file: No such file or directory"]
