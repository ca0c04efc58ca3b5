"""What a customer types reaches other systems masked: a ``user_message`` event read from the
agent API's event stream, with the server and the 상담톡 simulator in-process."""

from __future__ import annotations

from handoff.desk_support import AGENTS, TOKENS, AgentClient
from handoff.test_live_desk import escalate

FOUR_WAYS = "연락처 010-12345678 / (010)1234-5678 / 010 1234-5678 / 010-1234-5678"


async def test_a_phone_number_written_four_ways_is_masked_in_the_event_stream(open_site, live):
    stack = await live(open_site(AGENTS), timer_interval=0.05, heartbeat=0.1)
    customer = stack.user("four-ways")
    await escalate(customer)

    await customer.say(FOUR_WAYS)

    kim = AgentClient(stack.http, stack.server_url, TOKENS["kim"])
    [event] = [e for e in await kim.events("user_message") if e["data"]["text"].startswith("연락처")]
    assert event["data"]["text"] == "연락처 010-****5678 / (010)****-5678 / 010 ****-5678 / 010-****-5678"
