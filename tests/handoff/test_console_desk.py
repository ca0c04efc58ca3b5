"""The example console desk, run as a script against a live server: one claim and one reply."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from handoff.desk_support import AGENTS, TOKENS
from handoff.test_live_desk import escalate, said

SCRIPT = Path(__file__).parents[2] / "examples" / "console_desk.py"


async def test_the_console_desk_claims_and_replies(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05)
    customer = stack.user("console-1")
    await escalate(customer)
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--url", stack.server_url, "--token", TOKENS["kim"], "--agent", "kim",
        "--reply", "콘솔에서 답장드려요", stdout=asyncio.subprocess.PIPE)
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0 and out.decode().startswith("replied to t")
    await customer.wait_for(said("콘솔에서 답장드려요"))
