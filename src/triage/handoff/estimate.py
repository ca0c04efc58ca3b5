"""How long a waiting user will wait, and when telling them again is worth a message.

The estimate is deliberately simple so agents can explain it: the median of recent handle
times, one "round" per full set of seats ahead of the user. The median shrugs off the one
conversation that took an hour. Users see whole minutes, never "0분". When no online agent
could take the ticket there is nothing to count rounds of, so no minutes are promised: the
user hears their place and that the wait may be long.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from datetime import datetime
from typing import Iterable, Sequence

from triage.handoff.queue import QueueState, Ticket, can_serve, position

DEFAULT_HANDLE_SECONDS = 180.0
"""Three minutes per conversation until the site has history of its own."""
HISTORY = 50
NEAR_FRONT = 3
"""From this place to the front every step is news; further back only a move of a fifth of the line is."""
MINUTES_WORTH_TELLING = 2
NO_AGENT_TEXT = "지금은 연결 가능한 상담원이 없어 대기가 길어질 수 있어요."


@dataclass(frozen=True)
class WaitEstimate:
    position: int
    minutes: int | None
    """``None`` when no online agent could take the ticket."""

    @property
    def text(self) -> str:
        return format_wait(self.position, self.minutes)


def handle_times(tickets: Iterable[Ticket], limit: int = HISTORY) -> list[float]:
    """Seconds with an agent for the ``limit`` most recently closed tickets.

    Tickets closed while still waiting (the user cancelled) never reached an agent and say
    nothing about handling; negative spans are clock skew in stored data, not work.
    """
    handled = [t for t in tickets if t.status == "closed" and t.assigned_at and t.closed_at
               and t.closed_at >= t.assigned_at]
    handled.sort(key=lambda t: (t.closed_at, t.id), reverse=True)
    return [(t.closed_at - t.assigned_at).total_seconds() for t in handled[:limit]]  # type: ignore[operator]


def parallel_capacity(state: QueueState, ticket: Ticket) -> int:
    """Seats that could take this ticket: busy seats count, because they are the ones that free up."""
    return sum(a.max_concurrent for a in state.agents.values() if a.presence == "online" and can_serve(a, ticket))


def estimate_minutes(place: int, capacity: int, recent: Sequence[float],
                     default: float = DEFAULT_HANDLE_SECONDS) -> int | None:
    """``None`` without a seat: any number would be a promise nobody online can keep."""
    if capacity < 1:
        return None
    handle = statistics.median(recent) if recent else default
    seconds = math.ceil(place / capacity) * handle
    return max(1, math.floor(seconds / 60 + 0.5))


def estimate(state: QueueState, ticket_id: str, recent: Sequence[float],
             default: float = DEFAULT_HANDLE_SECONDS) -> WaitEstimate | None:
    """``None`` when the ticket is not waiting (assigned, closed or unknown): there is no wait to tell."""
    place = position(state, ticket_id)
    if place is None:
        return None
    return WaitEstimate(place, estimate_minutes(place, parallel_capacity(state, state.tickets[ticket_id]),
                                                recent, default))


def _duration(minutes: int) -> str:
    hours, rest = divmod(max(1, minutes), 60)
    if not hours:
        return f"{rest}분"
    return f"{hours}시간 {rest}분" if rest else f"{hours}시간"


def format_wait(place: int, minutes: int | None) -> str:
    if minutes is None:
        return f"현재 대기 {place}번째예요. {NO_AGENT_TEXT}"
    return f"현재 대기 {place}번째, 예상 대기 약 {_duration(minutes)}"


def _moved_enough(before: int, after: int) -> bool:
    change = abs(after - before)
    return change >= 1 if after <= NEAR_FRONT else change * 5 >= before


def should_notify(last_position: int | None, last_sent_at: datetime | None, new_position: int, now: datetime,
                  min_interval: float, last_minutes: int | None = None, new_minutes: int | None = None) -> bool:
    """Repeat the wait only when it is news, and never more often than ``min_interval`` seconds.

    Nothing sent yet is always news. A user fourteenth in line does not need a message for
    every step; a user third in line does. An estimate appearing or vanishing (an agent who
    could serve them came online, or the last one left) is news wherever they are.
    """
    if last_position is None or last_sent_at is None:
        return True
    if (now - last_sent_at).total_seconds() < min_interval:
        return False
    if (last_minutes is None) != (new_minutes is None):
        return True
    estimate_moved = (last_minutes is not None and new_minutes is not None
                      and abs(new_minutes - last_minutes) >= MINUTES_WORTH_TELLING)
    return _moved_enough(last_position, new_position) or estimate_moved
