"""The README's handoff section stays true to the code it describes."""

from __future__ import annotations

import re
from pathlib import Path

from triage.handoff.api import ROUTES
from triage.handoff.desk import MESSAGE_KEYS
from triage.handoff.webhooks import EVENT_KINDS, sign

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
DOC = README[README.index("## Human agents"):].split("\n## ", 1)[0]


def table_rows(header: str) -> list[list[str]]:
    """The body of the markdown table whose first column is ``header``; ``\\|`` is a pipe in a cell."""
    lines = DOC.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {header} |"))
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip("|"))])
    return rows


def _shape(path: str) -> str:
    return re.sub(r"\{\w+\}", "{}", path.strip("`"))


def test_the_api_table_lists_exactly_the_routes_the_server_has():
    documented = {(row[0], _shape(row[1])) for row in table_rows("method")}
    assert documented == {(method, _shape(path)) for method, path, _ in ROUTES}


def test_every_event_kind_is_documented_once():
    kinds = [row[0].strip("`") for row in table_rows("kind")]
    assert sorted(kinds) == sorted(EVENT_KINDS)


def test_every_customer_message_key_is_documented():
    keys_line = DOC[DOC.index("Message keys:"):].split("\n\n")[0]
    assert set(re.findall(r"`(\w+)`", keys_line)) - {"name", "wait", "keyword"} == set(MESSAGE_KEYS)


def test_the_documented_verification_code_accepts_our_signature_and_refuses_a_tampered_body():
    snippet = DOC.split("```python\n", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(snippet, scope)
    verify = scope["verify_signature"]
    body = b'{"kind":"closed","data":{"ticket_id":"t1"}}'
    signature = sign("shared-secret-0123456789", 1_800_000_000, body)
    assert verify("shared-secret-0123456789", "1800000000", body, signature, now=1_800_000_100)
    assert not verify("shared-secret-0123456789", "1800000000", body.replace(b"t1", b"t2"), signature,
                      now=1_800_000_100)
    assert not verify("shared-secret-0123456789", "1800000000", body, signature, now=1_800_000_301)
    assert not verify("shared-secret-0123456789", "soon", body, signature)
