"""schema/flow.schema.json agrees with the loader, and real flows validate against it.

No JSON Schema library is allowed, so a small validator below covers exactly the keywords
the schema uses; a test fails if the schema starts using one it does not know.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from triage.flows import loader
from triage.yamlmarks import read_yaml

REPO = Path(__file__).parents[1]
SCHEMA = json.loads((REPO / "schema" / "flow.schema.json").read_text(encoding="utf-8"))
FIXTURES = REPO / "tests" / "fixtures"
ANNOTATIONS = {"$schema", "$id", "$defs", "title", "description", "default"}
_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


def resolve(schema: dict) -> dict:
    return SCHEMA["$defs"][schema["$ref"].rsplit("/", 1)[1]] if "$ref" in schema else schema


def errors(value: Any, schema: dict, where: str = "") -> Iterator[str]:
    """Why ``value`` fails ``schema``, for the keywords flow.schema.json uses."""
    schema = resolve(schema)
    types = schema.get("type")
    if types is not None and not any(_TYPES[t](value) for t in ([types] if isinstance(types, str) else types)):
        yield f"{where}: not {types}"
        return
    if "enum" in schema and value not in schema["enum"]:
        yield f"{where}: not one of {schema['enum']}"
    if "oneOf" in schema and sum(not any(errors(value, s, where)) for s in schema["oneOf"]) != 1:
        yield f"{where}: matches no single oneOf"
    if "anyOf" in schema and all(any(errors(value, s, where)) for s in schema["anyOf"]):
        yield f"{where}: matches no anyOf"
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            yield f"{where}: {value!r} does not match {schema['pattern']}"
        if len(value) > schema.get("maxLength", len(value)) or len(value) < schema.get("minLength", 0):
            yield f"{where}: {value!r} has the wrong length"
    if isinstance(value, int) and not isinstance(value, bool) and value < schema.get("minimum", value):
        yield f"{where}: below {schema['minimum']}"
    if isinstance(value, list):
        if len(value) > schema.get("maxItems", len(value)):
            yield f"{where}: too many items"
        for i, item in enumerate(value):
            yield from errors(item, schema.get("items", {}), f"{where}[{i}]")
    if isinstance(value, dict):
        yield from object_errors(value, schema, where)


def object_errors(value: dict, schema: dict, where: str) -> Iterator[str]:
    yield from (f"{where}: missing {key}" for key in schema.get("required", ()) if key not in value)
    if len(value) < schema.get("minProperties", 0):
        yield f"{where}: empty"
    properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
    for key, item in value.items():
        yield from errors(str(key), schema.get("propertyNames", {}), f"{where}/{key} (name)")
        if key in properties:
            yield from errors(item, properties[key], f"{where}/{key}")
        elif extra is False:
            yield f"{where}: unknown key {key}"
        elif isinstance(extra, dict):
            yield from errors(item, extra, f"{where}/{key}")


def keywords_used(schema: Any) -> set[str]:
    if isinstance(schema, list):
        return set().union(*(keywords_used(s) for s in schema))
    if not isinstance(schema, dict):
        return set()
    named = ("properties", "$defs")
    children = [v for k, v in schema.items() if k not in (*named, "enum", "required", "default")]
    children += [v for k in named for v in schema.get(k, {}).values()]
    return set(schema) | set().union(*(keywords_used(c) for c in children))


def test_the_small_validator_knows_every_keyword_the_schema_uses():
    known = ANNOTATIONS | {"$ref", "type", "enum", "oneOf", "anyOf", "pattern", "maxLength", "minLength", "minimum",
                           "maxItems", "items", "required", "minProperties", "properties", "additionalProperties",
                           "propertyNames"}
    assert keywords_used(SCHEMA) - known == set()


def test_it_is_a_draft_2020_12_schema_for_a_flow_file():
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["type"] == "object" and SCHEMA["additionalProperties"] is False


def test_the_flow_level_keys_are_exactly_the_loaders():
    assert set(SCHEMA["properties"]) == set(loader.FLOW_KEYS)


@pytest.mark.parametrize("kind", loader.KIND_KEYS)
def test_each_node_kind_allows_exactly_the_keys_the_loader_accepts(kind):
    spec = SCHEMA["$defs"][kind]
    assert {"$ref": f"#/$defs/{kind}"} in SCHEMA["$defs"]["node"]["oneOf"]
    assert set(spec["properties"]) == {kind, *loader.COMMON_KEYS, *loader.KIND_KEYS[kind]}
    assert kind in spec["required"] and spec["additionalProperties"] is False


@pytest.mark.parametrize("where, keys", [
    ("button", loader.BUTTON_KEYS), ("link", loader.LINK_KEYS), ("route", loader.ROUTE_KEYS),
    ("case", loader.CASE_KEYS),
])
def test_nested_items_allow_exactly_the_loaders_keys(where, keys):
    assert set(SCHEMA["$defs"][where]["properties"]) == set(keys)


def test_handoff_and_faq_options_allow_exactly_the_loaders_keys():
    handoff = next(s for s in SCHEMA["$defs"]["handoff"]["properties"]["handoff"]["anyOf"] if s.get("type") == "object")
    faq = next(s for s in SCHEMA["$defs"]["faq"]["properties"]["faq"]["anyOf"] if s.get("type") == "object")
    assert set(handoff["properties"]) == set(loader.HANDOFF_KEYS)
    assert set(faq["properties"]) == set(loader.FAQ_KEYS)


def flow_files() -> list[Path]:
    example = sorted((REPO / "flows").glob("*.yaml"))
    fixtures = [*sorted((FIXTURES / "validate_ok" / "flows").glob("*.yaml")),
                *sorted((FIXTURES / "validate_labels" / "flows").glob("*.yaml"))]
    return example + fixtures


@pytest.mark.parametrize("path", flow_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_every_good_flow_validates_against_the_schema(path):
    data, problems = read_yaml(path)
    assert problems == []
    assert list(errors(data, SCHEMA)) == []


@pytest.mark.parametrize("name, why", [
    ("shown", "/nodes/shown: matches no single oneOf"),
    ("nokind", "/nodes/nokind: matches no single oneOf"),
    ("twokinds", "/nodes/twokinds: matches no single oneOf"),
])
def test_nodes_the_loader_rejects_are_rejected_by_the_schema_too(name, why):
    data, _ = read_yaml(FIXTURES / "broken_flows" / "flows" / "keys.yaml")
    assert why in list(errors(data, SCHEMA))
    assert "/nodes: unknown key" not in " ".join(errors(data, SCHEMA))


def test_an_unknown_flow_key_is_rejected_by_the_schema():
    data, _ = read_yaml(FIXTURES / "broken_flows" / "flows" / "keys.yaml")
    assert ": unknown key fallbak" in list(errors(data, SCHEMA))


def test_limits_are_in_the_schema_so_the_editor_flags_them_while_typing():
    data, _ = read_yaml(FIXTURES / "broken_flows" / "flows" / "limits.yaml")
    assert {"/nodes/many_links: matches no single oneOf", "/nodes/many_buttons: matches no single oneOf",
            "/nodes/labels: matches no single oneOf"} <= set(errors(data, SCHEMA))
