"""What an agent can do to a conversation, each as one runtime plan and one commit.

The REST API parses and authenticates; this module decides whether the action is allowed on
this ticket now, stages it through the desk (queue, customer messages, events) and the
runtime (engine release, session end), and commits. Refusals are ``ActionError`` with an
HTTP status and a stable code, so any caller can map them without guessing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

from triage.flows.session import LinkOut, Release
from triage.handoff import queue as q
from triage.handoff.config import AgentConfig
from triage.handoff.desk import Desk
from triage.kakao.render import (address, block_call, end_with_bot_call, image_bubbles, media_hosts_for, menu_bubbles,
                                 text_bubbles)
from triage.runtime import Plan, Runtime
from triage.store import NewOutbox, TranscriptEntry

STATUS_OF_REASON = {"unknown_ticket": 404, "unknown_agent": 404, "invalid": 422}
"""Queue refusals by reason; every other reason is a conflict with the ticket's current state (409)."""


class ActionError(Exception):
    def __init__(self, status: int, code: str, message: str):
        self.status, self.code = status, code
        super().__init__(message)


@dataclass(frozen=True)
class AgentMessage:
    text: str = ""
    buttons: tuple[str, ...] = ()
    links: tuple[LinkOut, ...] = ()
    image_url: str | None = None


class AgentActions:
    def __init__(self, runtime: Runtime, desk: Desk):
        self.runtime = runtime
        self.desk = desk

    # ---- lookups and checks ------------------------------------------------------------------

    def ticket(self, ticket_id: str) -> q.Ticket:
        ticket = self.desk.state.tickets.get(ticket_id)
        if ticket is None:
            raise ActionError(404, "unknown_ticket", f'no conversation "{ticket_id}"')
        return ticket

    def _open(self, agent: AgentConfig, ticket_id: str, *, assigned: bool = False,
              held: bool = False) -> tuple[q.Ticket, Plan]:
        """The ticket and a plan on its session, after the checks every action shares.

        ``held`` is for actions that take the customer away from the queue (close, release,
        transfer, block): on a waiting conversation they are a supervisor's call, because the
        customer is nobody's yet and any agent could otherwise end someone else's wait.
        """
        ticket = self.ticket(ticket_id)
        if ticket.status == "closed":
            raise ActionError(409, "closed", f'conversation "{ticket_id}" is closed')
        if ticket.agent_id not in (None, agent.id) and not agent.supervisor:
            raise ActionError(403, "not_yours", f'conversation "{ticket_id}" is assigned to another agent')
        if held and ticket.agent_id is None and not agent.supervisor:
            raise ActionError(403, "claim_first", f'conversation "{ticket_id}" is waiting; claim it first '
                                                  f'(only a supervisor may close, release or transfer it unclaimed)')
        if assigned and ticket.status != "assigned":
            raise ActionError(409, "not_assigned", f'conversation "{ticket_id}" is waiting; claim it first')
        plan = self.runtime.plan(ticket.user_key)
        if plan.session is None or plan.session.id != ticket.session_id:
            raise ActionError(409, "session_gone", f'the customer of "{ticket_id}" is no longer in this session')
        return ticket, plan

    def _queue(self, call: Callable[[], q.Ticket]) -> q.Ticket:
        try:
            return call()
        except q.QueueError as exc:
            raise ActionError(STATUS_OF_REASON.get(exc.reason, 409), exc.reason, str(exc)) from exc

    # ---- actions -------------------------------------------------------------------------------

    def claim(self, agent: AgentConfig, ticket_id: str) -> q.Ticket:
        """Two agents clicking the same customer is a race, not trespass: the loser gets 409."""
        if self.ticket(ticket_id).status == "assigned":
            raise ActionError(409, "not_waiting", f'conversation "{ticket_id}" was already taken')
        ticket, plan = self._open(agent, ticket_id)
        claimed = self._queue(lambda: self.desk.claim(plan, ticket, agent.id))
        self.runtime.commit(plan)
        return claimed

    def message(self, agent: AgentConfig, ticket_id: str, message: AgentMessage) -> None:
        ticket, plan = self._open(agent, ticket_id, assigned=True)
        settings = plan.content.settings
        bubbles = image_bubbles(message.image_url, media_hosts_for(settings.kakao)) if message.image_url else []
        if message.links or message.buttons:
            bubbles += menu_bubbles(message.text, message.links, message.buttons)
        elif message.text:
            bubbles += text_bubbles(message.text)
        calls = address(bubbles, ticket.user_key, settings.channel.sender_key, self.runtime.serials)
        plan.outbox += [NewOutbox(ticket.user_key, ticket.session_id, c.kind, c.body.get("serial_number"), c.body,
                                  plan.now) for c in calls]
        data = {"agent_id": agent.id, "buttons": list(message.buttons),
                "links": [{"label": link.label, "url": link.url} for link in message.links],
                "image_url": message.image_url}
        plan.transcript.append(TranscriptEntry(ticket.session_id, "out", "agent", "image" if message.image_url and
                                               not message.text else "text", message.text or None, data, plan.now))
        self.desk.event(plan, "agent_message", ticket, text=message.text, **data)
        self.runtime.commit(plan)

    def transfer(self, agent: AgentConfig, ticket_id: str, note: str, to_agent: str | None,
                 to_queue: str | None) -> q.Ticket:
        if to_queue is not None and to_queue not in self.desk.settings.queues:
            raise ActionError(422, "unknown_queue", f'no queue "{to_queue}"')
        ticket, plan = self._open(agent, ticket_id, held=True)
        moved = self._queue(lambda: self.desk.transfer(plan, ticket, note, to_agent, to_queue, agent.id))
        self.runtime.commit(plan)
        return moved

    def close(self, agent: AgentConfig, ticket_id: str, text: str = "") -> None:
        ticket, plan = self._open(agent, ticket_id, held=True)
        self._goodbye(plan, ticket, agent, text)
        self.desk.close(plan, ticket, "agent", by=agent.id)
        self.desk.end(plan, "agent")
        self._finish(plan, "agent")

    def close_to_bot(self, agent: AgentConfig, ticket_id: str, bot_event: str = "", text: str = "") -> None:
        ticket, plan = self._open(agent, ticket_id, held=True)
        self._goodbye(plan, ticket, agent, text)
        self.desk.close(plan, ticket, "to_bot", by=agent.id)
        sender_key = plan.content.settings.channel.sender_key
        self.desk.end(plan, "to_bot", end_with_bot_call(ticket.user_key, sender_key, bot_event))
        self._finish(plan, "to_bot")

    def release(self, agent: AgentConfig, ticket_id: str, node: str | None) -> None:
        ticket, plan = self._open(agent, ticket_id, held=True)
        flows = plan.content.flows
        if node and node not in flows.nodes and f"{flows.entry}.{node}" not in flows.nodes:
            raise ActionError(422, "unknown_node", f'no flow node "{node}"')
        self.desk.close(plan, ticket, "released", by=agent.id)
        self.runtime.step(plan, Release(node or None))
        self.runtime.commit(plan)

    def block(self, agent: AgentConfig, user_key: str) -> None:
        plan = self.runtime.plan(user_key)
        if plan.session is None:
            raise ActionError(409, "session_gone", f'user "{user_key}" has no open session')
        ticket = self.desk.ticket_of_session(plan, plan.session.id)
        if ticket is None and not agent.supervisor:
            raise ActionError(403, "not_yours", "only a supervisor may block a user who is not in a conversation")
        if ticket is not None:
            ticket, plan = self._open(agent, ticket.id, held=True)
            self.desk.close(plan, ticket, "blocked", by=agent.id)
        plan.user = replace(plan.user, blocked=True)
        self.desk.end(plan, "blocked", block_call(user_key, plan.content.settings.channel.sender_key))
        self._finish(plan, "blocked")

    def presence(self, agent: AgentConfig, target: str, presence: str, max_concurrent: int | None) -> q.Agent:
        if target != agent.id and not agent.supervisor:
            raise ActionError(403, "not_yours", "agents set their own presence; supervisors anyone's")
        plan = self.runtime.blank_plan()
        self._queue(lambda: self.desk.presence(plan, target, presence, max_concurrent))  # type: ignore[arg-type,return-value]
        self.runtime.commit(plan)
        return self.desk.state.agents[target]

    # ---- shared steps --------------------------------------------------------------------------

    def _goodbye(self, plan: Plan, ticket: q.Ticket, agent: AgentConfig, text: str) -> None:
        if text:
            self.desk.say(plan, ticket.session_id, ticket.user_key, text, sender="agent", data={"agent_id": agent.id})
            self.desk.event(plan, "agent_message", ticket, text=text, agent_id=agent.id)

    def _finish(self, plan: Plan, reason: str) -> None:
        self.runtime.end(plan, reason)
        self.runtime.commit(plan)
