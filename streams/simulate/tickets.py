"""The life of a ticket: created, agent and customer replies, notes, solves, reopens.

A state machine with one pending step per ticket on the generator's heap.
Agent work happens on shift (`TrafficGenerator.business`), so replies and
solves land hours or days after creation, across nights and weekends; customer
replies come at any hour. Every step is scheduled after the previous one, so
replies, solves and reopens are never before `created_at`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from streams.simulate.behaviour import HOUR_MS
from streams.simulate.core import TICKETS, Handler, SimEvent, Slot, TeamRuntime
from streams.simulate.scenario import Agent

if TYPE_CHECKING:
    from streams.simulate.generator import TrafficGenerator


class Ticket:
    """An open ticket and where its conversation stands."""

    __slots__ = ("ticket_id", "runtime", "channel", "created_at", "agent", "rounds", "reopened")

    def __init__(self, ticket_id: str, runtime: TeamRuntime, channel: str, created_at: str) -> None:
        self.ticket_id = ticket_id
        self.runtime = runtime
        self.channel = channel
        self.created_at = created_at
        self.agent: Agent | None = None
        self.rounds = 0
        self.reopened = False


class TicketLifecycle:
    """Schedules and emits every `cc.tickets` event of the generator's tickets."""

    def __init__(self, generator: TrafficGenerator) -> None:
        self._gen = generator
        self._b = generator.behaviour
        # Bound once: a fresh bound method per push would be one more allocation per event.
        self._on_solve: Handler = self._solve
        self._on_note: Handler = self._note
        self._on_customer_message: Handler = self._customer_message
        self._on_customer_reply: Handler = self._customer_reply
        self._on_agent_reply: Handler = self._agent_reply
        self._on_reopen: Handler = self._reopen

    def open(self, runtime: TeamRuntime, at_ms: int) -> SimEvent:
        """`ticket.created`, and the first steps: a reply (maybe preceded by a note or chaser)."""
        gen, b = self._gen, self._b
        rng = gen.rng
        channel = runtime.ticket_channels.pick(rng)
        ticket = Ticket(f"t-{rng.getrandbits(80):020x}", runtime, channel, gen.iso(at_ms))
        ticket.rounds = self._rounds(b.ticket_max_rounds)
        if rng.random() < b.ticket_without_reply:
            gen.push(self._agent_time(runtime, at_ms), self._on_solve, ticket)
        else:
            first = self._agent_time(runtime, at_ms)
            if first - at_ms > 2_000:
                if rng.random() < b.ticket_chaser:
                    chaser = at_ms + 1_000 + int(rng.random() * (first - at_ms - 2_000))
                    gen.push(chaser, self._on_customer_message, ticket)
                if rng.random() < b.ticket_first_note:
                    note = first - int(rng.random() * min(first - at_ms, 600_000))
                    gen.push(note, self._on_note, ticket)
            gen.push(first, self._on_agent_reply, ticket)
        value = gen.base("ticket.created", at_ms, runtime.name, channel)
        value["ticket_id"] = ticket.ticket_id
        return SimEvent(TICKETS, ticket.ticket_id, value)

    def _rounds(self, max_rounds: int) -> int:
        rounds = 0
        while rounds < max_rounds and self._gen.rng.random() < self._b.ticket_more_rounds:
            rounds += 1
        return rounds

    def _agent_time(self, runtime: TeamRuntime, after_ms: int) -> int:
        """When an agent next acts on the ticket: a reply delay, then the next shift."""
        delay = self._gen.rng.expovariate(1.0 / (runtime.team.mean_reply_hours * HOUR_MS))
        return self._gen.business(runtime, after_ms + 1_000 + int(delay))[0]

    def _agent(self, ticket: Ticket, slot: Slot) -> Agent:
        """The assignee while on shift, otherwise whoever is (a hand-over)."""
        if ticket.agent is None or ticket.agent not in slot.agents:
            ticket.agent = self._gen.rng.choice(slot.agents or ticket.runtime.agents)
        return ticket.agent

    def _event(self, type_: str, ticket: Ticket, at_ms: int) -> dict[str, object]:
        value = self._gen.base(type_, at_ms, ticket.runtime.name, ticket.channel)
        value["ticket_id"] = ticket.ticket_id
        value["created_at"] = ticket.created_at
        return value

    def _reply(self, ticket: Ticket, at_ms: int, agent: Agent | None, public: bool) -> SimEvent:
        value = self._event("ticket.replied", ticket, at_ms)
        value["author"] = "customer" if agent is None else "agent"
        if agent is not None:
            value["agent"] = agent.name
        value["public"] = public
        return SimEvent(TICKETS, ticket.ticket_id, value)

    def _note(self, ticket: Ticket, at_ms: int) -> SimEvent:
        """A private agent note: counts in no reply KPI, but the engine must see and skip it."""
        agent = self._agent(ticket, self._gen.slot(ticket.runtime, at_ms))
        return self._reply(ticket, at_ms, agent, public=False)

    def _customer_message(self, ticket: Ticket, at_ms: int) -> SimEvent:
        """A customer message that expects no particular next step (a chaser)."""
        return self._reply(ticket, at_ms, None, public=True)

    def _agent_reply(self, ticket: Ticket, at_ms: int) -> SimEvent:
        gen = self._gen
        agent = self._agent(ticket, gen.slot(ticket.runtime, at_ms))
        if ticket.rounds > 0:
            ticket.rounds -= 1
            wait = gen.rng.expovariate(1.0 / (self._b.mean_customer_reply_hours * HOUR_MS))
            gen.push(at_ms + 1_000 + int(wait), self._on_customer_reply, ticket)
        else:
            gen.push(self._agent_time(ticket.runtime, at_ms), self._on_solve, ticket)
        return self._reply(ticket, at_ms, agent, public=True)

    def _customer_reply(self, ticket: Ticket, at_ms: int) -> SimEvent:
        """The customer answers; an agent replies later, sometimes after a private note."""
        gen = self._gen
        reply = self._agent_time(ticket.runtime, at_ms)
        if reply - at_ms > 2_000 and gen.rng.random() < self._b.ticket_round_note:
            note = reply - int(gen.rng.random() * min(reply - at_ms - 1_000, 600_000))
            gen.push(note, self._on_note, ticket)
        gen.push(reply, self._on_agent_reply, ticket)
        return self._reply(ticket, at_ms, None, public=True)

    def _solve(self, ticket: Ticket, at_ms: int) -> SimEvent:
        """Solved by the agent on shift; the first solve may bring surveys, QA and a reopen."""
        gen, b = self._gen, self._b
        rng = gen.rng
        agent = self._agent(ticket, gen.slot(ticket.runtime, at_ms))
        value = self._event("ticket.solved", ticket, at_ms)
        value["agent"] = agent.name
        if not ticket.reopened:
            chances = (b.ticket_csat, b.ticket_nps, b.ticket_qa)
            ref: dict[str, object] = {"ticket_id": ticket.ticket_id}
            resolved = rng.random() < 0.9
            gen.surveys_and_qa(ticket.runtime, ticket.channel, at_ms, agent, resolved, chances, ref)
            if rng.random() < b.ticket_reopen:
                ticket.reopened = True
                ticket.rounds = self._rounds(2)
                wait = rng.expovariate(1.0 / (b.mean_reopen_hours * HOUR_MS))
                gen.push(at_ms + 1_000 + int(wait), self._on_reopen, ticket)
        return SimEvent(TICKETS, ticket.ticket_id, value)

    def _reopen(self, ticket: Ticket, at_ms: int) -> SimEvent:
        """The customer writes back on a solved ticket: reopened, then their message."""
        message = at_ms + 1_000 + int(self._gen.rng.random() * 4_000)
        self._gen.push(message, self._on_customer_reply, ticket)
        return SimEvent(TICKETS, ticket.ticket_id, self._event("ticket.reopened", ticket, at_ms))
