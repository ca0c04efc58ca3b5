"""Real packets, from a conversation through the server, checked against schema/handoff.schema.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_desk import said

SCHEMA = json.loads((Path(__file__).parents[2] / "schema" / "handoff.schema.json").read_text(encoding="utf-8"))
TYPES = {"object": dict, "array": list, "string": str, "boolean": bool, "null": type(None),
         "integer": int, "number": (int, float)}


def problems(value: Any, schema: dict, where: str = "$") -> list[str]:
    """The subset of draft 2020-12 the packet schema uses: type, enum, required, properties, items."""
    kinds = schema.get("type")
    if kinds is not None:
        names = kinds if isinstance(kinds, list) else [kinds]
        ok = any(isinstance(value, TYPES[n]) and not (n in ("integer", "number") and isinstance(value, bool))
                 for n in names)
        if not ok:
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where}: {value!r} not in {schema['enum']}"]
    found = []
    if isinstance(value, dict):
        found += [f"{where}: missing {key}" for key in schema.get("required", []) if key not in value]
        props = schema.get("properties", {})
        for key, item in value.items():
            if key in props:
                found += problems(item, props[key], f"{where}.{key}")
            elif schema.get("additionalProperties") is False:
                found.append(f"{where}: unexpected {key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                found += problems(item, schema["additionalProperties"], f"{where}.{key}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{i}]")
    return found


def test_the_checker_catches_a_wrong_packet():
    assert problems({"queue": 3}, SCHEMA)


async def test_a_returning_customers_packet_after_an_faq_miss_matches_the_schema(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    customer = stack.user("packet-1")
    await customer.consult(extra="topic=order&order=77")
    await customer.say("처음으로")
    await customer.say("자주 묻는 질문")
    await customer.say("우주선 배송도 되나요 화성으로")
    await customer.say("상담원")
    await customer.wait_for(said("상담원을 연결해 드릴게요"))
    ticket = (await kim.waiting("general"))[0]["id"]
    packet = (await kim.ok("GET", f"/conversations/{ticket}"))["packet"]
    assert problems(packet, SCHEMA) == []
    assert packet["params"]["order"] == "77" and packet["faq_attempts"]
