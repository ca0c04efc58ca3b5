"""YAML with line numbers.

Editors need every message to point at ``file:line``, so mappings and lists remember where
each key and item started. A private loader class keeps PyYAML's global loaders untouched.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from triage.problems import Problem

try:
    _Base: type = yaml.CSafeLoader
except AttributeError:  # PyYAML built without libyaml
    _Base = yaml.SafeLoader


class MarkedDict(dict):
    """A mapping that knows its own line and the line of each key (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]

    def __init__(self, *args: Any, **kwargs: Any):
        """Built empty too (a file that could not be read), and asked for lines all the same."""
        super().__init__(*args, **kwargs)
        self.key_lines = {}

    def line_of(self, key: Any) -> int:
        return self.key_lines.get(key, self.line)


class MarkedList(list):
    """A list that knows its own line and the line of each item (1-based)."""

    line: int = 0
    item_lines: list[int]

    def line_of(self, index: int) -> int:
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _Loader(_Base):  # type: ignore[misc, valid-type]
    duplicates: list[tuple[Any, int]]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> MarkedDict:
    loader.flatten_mapping(node)
    result = MarkedDict()
    result.line = node.start_mark.line + 1
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, (str, int, float, bool)) and key is not None:
            key = str(key)
        if key in result.key_lines:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> MarkedList:
    result = MarkedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


_INDENTATION = "check the indentation: this line or the one above starts in a different column from the keys " \
               "it belongs with"
_TABS = "indent with spaces: YAML does not allow tabs"
YAML_HINTS = (
    ("did not find expected key", _INDENTATION),
    ("expected <block end>", _INDENTATION),
    ("mapping values are not allowed", 'a text with ": " in it needs quotes, or a line is indented under a text'),
    ("tab character", _TABS),
    ("found character '\\t'", _TABS),
    ("found character that cannot start any token", "indent with spaces, not tabs, and put a text that starts "
                                                    "with @ or ` in quotes"),
)
"""The parser's wording for the usual slips, and what an editor should look at for each: every
file an editor writes (flows, FAQ, triage.yaml, conversation tests) goes through ``parse_yaml``."""


def _explained(reason: str) -> str:
    """The parser's words stay, followed by a plain hint when they describe a usual slip."""
    hint = next((hint for words, hint in YAML_HINTS if words in reason), None)
    return f"{reason}: {hint}" if hint else reason


def parse_yaml(text: str, path: str) -> tuple[Any, list[Problem]]:
    """Parse one document; syntax errors and duplicate keys come back as problems."""
    loader = _Loader(text)
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            reason += f" ({exc.context} on line {exc.context_mark.line + 1})"
        return None, [Problem(path, line, f"YAML syntax error: {_explained(reason)}")]
    except yaml.YAMLError as exc:
        return None, [Problem(path, 1, f"YAML error: {exc}")]
    finally:
        loader.dispose()
    problems = [Problem(path, line, f'duplicate key "{key}"') for key, line in loader.duplicates]
    return data, problems


def read_yaml(path: Path, display: str | None = None) -> tuple[Any, list[Problem]]:
    """Read a YAML file; empty, binary and undecodable files are problems, never tracebacks."""
    name = display or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Problem(name, 1, f"cannot read file: {exc.strerror or exc}")]
    if b"\x00" in raw:
        return None, [Problem(name, 1, "this is a binary file, not YAML text")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Problem(name, line, "the file is not UTF-8 text")]
    if not text.strip():
        return None, [Problem(name, 1, "the file is empty")]
    return parse_yaml(text, name)


def line_of(container: Any, key: Any, default: int = 1) -> int:
    if isinstance(container, MarkedDict):
        return container.line_of(key)
    if isinstance(container, MarkedList) and isinstance(key, int):
        return container.line_of(key)
    return getattr(container, "line", default) or default
