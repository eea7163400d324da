"""Deterministic contact-centre traffic as a time-ordered event heap.

Pure and synchronous (no I/O, no asyncio) so tests, the oracle and benchmarks
can take exact, repeatable streams; `runner.py` paces and produces them.

Each live entity (a team's arrival process, a queued contact, an open ticket, a
pending survey or QA form) has exactly one entry on the heap: its next event.
Popping it emits that event and schedules the entity's next step, always at or
after the popped time, so the stream is in non-decreasing `occurred_at` order
and causal per contact and ticket by construction. Memory grows with the
entities in flight (roughly `rate` x one day of open tickets), not with history.
"""

from __future__ import annotations

import heapq
import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

from streams.simulate.behaviour import (
    ANSWERED,
    HOUR_MS,
    calibrate,
    contact_outcome,
    csat_score,
    handle_times,
    nps_score,
    on_shift,
    qa_scores,
)
from streams.simulate.core import (
    AGENTS,
    CONTACTS,
    QUALITY,
    SURVEYS,
    TOPICS,
    Contact,
    Handler,
    SimEvent,
    Slot,
    TeamRuntime,
)
from streams.simulate.scenario import DEFAULT_SCENARIO, Agent, Scenario
from streams.simulate.tickets import TicketLifecycle

__all__ = ["TOPICS", "SimEvent", "TrafficGenerator"]

DAY_MS = 24 * HOUR_MS
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


class TrafficGenerator:
    """An endless, seeded stream of contract events for every input topic.

    `rate` is the long-run mean of events per second of simulated time, all
    topics together, averaged over a whole week of the scenario's daily and
    weekly curves (holidays excluded). Weekday peak hours run at roughly twice
    `rate`, nights and Sundays far below it, and the first simulated hours run
    a little below it while tickets build up. Each team gets its scenario share
    of the events; arrival rates come from `behaviour.calibrate`.

    The stream depends only on (`start`, `seed`, `rate`, `scenario`). The
    random generator is seeded with seed, start and rate together, so replaying
    a run repeats its event ids (deduplicated downstream) while two runs that
    differ in any of them (two live runs started at different times with the
    same seed, say) never share an id.
    """

    def __init__(
        self,
        start: datetime,
        seed: int,
        rate: float,
        scenario: Scenario = DEFAULT_SCENARIO,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be a timezone-aware datetime")
        if not rate > 0:
            raise ValueError("rate must be positive")
        self.scenario = scenario
        self.start_ms = int(start.timestamp() * 1000)
        self.rate = rate
        stream = f"cckpi-simulate:{seed}:{self.start_ms}:{rate!r}"
        self.rng = random.Random(stream)
        self._shift_ids = uuid.uuid5(uuid.NAMESPACE_URL, stream)
        self.behaviour = scenario.behaviour
        self.profiles = dict(scenario.channels)
        self.tickets = TicketLifecycle(self)
        self._heap: list[tuple[int, int, Handler, Any]] = []
        self._seq = count()
        self._iso_second = -1
        self._iso_prefix = ""
        # Bound once: a fresh bound method per push would be one more allocation per event.
        self._on_arrival: Handler = self._arrival
        self._on_answered: Handler = self._answered
        self._on_abandoned: Handler = self._abandoned
        self._on_completed: Handler = self._completed
        self._on_followup: Handler = self._followup
        self._on_hour: Handler = self._hour
        self._on_shift: Handler = self._shift
        calibration = calibrate(scenario)
        self.teams: dict[str, TeamRuntime] = {}
        for team in scenario.teams:
            cal = calibration[team.name]
            mean = rate * team.traffic_share / (cal.mean_intensity * cal.events_per_arrival)
            runtime = TeamRuntime(team, scenario, mean * cal.peak_intensity, cal.peak_intensity)
            runtime.clock = float(self.start_ms)
            self.teams[team.name] = runtime
            self._next_arrival(runtime)
            self.push(self.start_ms, self._on_hour, (runtime, True))

    # -- the heap ------------------------------------------------------------

    def push(self, at_ms: int, handler: Handler, item: Any) -> None:
        heapq.heappush(self._heap, (at_ms, next(self._seq), handler, item))

    def timed_events(self) -> Iterator[tuple[int, SimEvent]]:
        """(occurred_at as epoch milliseconds, event), forever, in time order.

        One stream per instance: calling it again continues where it stopped.
        """
        heap = self._heap
        pop = heapq.heappop
        while True:
            at_ms, _, handler, item = pop(heap)
            event = handler(item, at_ms)
            if event is not None:
                yield at_ms, event

    def events(self) -> Iterator[SimEvent]:
        """The endless event stream, in non-decreasing simulated time."""
        for _, event in self.timed_events():
            yield event

    # -- helpers shared with the ticket lifecycle ----------------------------

    def iso(self, at_ms: int) -> str:
        """RFC 3339 in UTC with an explicit offset, millisecond precision."""
        second, millis = divmod(at_ms, 1000)
        if second != self._iso_second:
            self._iso_second = second
            self._iso_prefix = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return f"{self._iso_prefix}.{millis:03d}+00:00"

    def uuid(self) -> str:
        """A version-4 UUID string drawn from the seeded generator."""
        text = f"{self.rng.getrandbits(128):032x}"
        return (
            f"{text[:8]}-{text[8:12]}-4{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:]}"
        )

    def base(self, type_: str, at_ms: int, team: str, channel: str) -> dict[str, object]:
        return {
            "event_id": self.uuid(),
            "type": type_,
            "occurred_at": self.iso(at_ms),
            "team": team,
            "channel": channel,
        }

    def slot(self, runtime: TeamRuntime, at_ms: int) -> Slot:
        hour = at_ms // HOUR_MS
        found = runtime.slots.get(hour)
        if found is None:
            found = runtime.slots[hour] = self._make_slot(runtime, hour)
        return found

    def _make_slot(self, runtime: TeamRuntime, hour: int) -> Slot:
        """Local hour, weekday and shifts; a holiday runs like a Sunday."""
        local = datetime.fromtimestamp(hour * 3600, runtime.zone)
        weekday = local.weekday()
        if local.date().isoformat() in runtime.holidays:
            weekday = 6
        previous = (local.weekday() - 1) % 7
        load = self.scenario.daily_curve[local.hour]
        agents = tuple(
            a for a in runtime.agents if on_shift(a.shift, weekday, previous, local.hour)
        )
        return Slot(load * runtime.team.day_factors[weekday], load, agents)

    def business(self, runtime: TeamRuntime, at_ms: int) -> tuple[int, Slot]:
        """The first instant at or after `at_ms` when the team has an agent on shift.

        Work that lands outside every shift waits for the next one to start and
        is then picked up within its first 45 minutes, so tickets and QA forms
        stall over nights and weekends as they do in a real centre.
        """
        slot = self.slot(runtime, at_ms)
        if slot.agents:
            return at_ms, slot
        hour = at_ms // HOUR_MS
        for _ in range(24 * 14):
            hour += 1
            slot = self.slot(runtime, hour * HOUR_MS)
            if slot.agents:
                return hour * HOUR_MS + int(self.rng.random() * 2_700_000), slot
        return at_ms, Slot(slot.intensity, slot.load, runtime.agents)

    def surveys_and_qa(
        self,
        runtime: TeamRuntime,
        channel: str,
        at_ms: int,
        agent: Agent,
        resolved: bool | None,
        chances: tuple[float, float, float],
        ref: dict[str, object],
    ) -> None:
        """Schedule the CSAT, NPS and QA form that may follow a finished contact or ticket."""
        rng = self.rng
        csat, nps, qa = chances
        who: dict[str, object] = {"agent": agent.name}
        if rng.random() < self.behaviour.survey_without_agent:
            who = {}
        if rng.random() < csat:
            fields = {"score": csat_score(rng, agent.quality, resolved), **who, **ref}
            when = at_ms + int(rng.uniform(120_000, HOUR_MS))
            self.push(when, self._on_followup, (SURVEYS, "survey.csat", runtime, channel, fields))
        if rng.random() < nps:
            fields = {"score": nps_score(rng, agent.quality, resolved), **who, **ref}
            when = at_ms + int(rng.uniform(HOUR_MS, 48 * HOUR_MS))
            self.push(when, self._on_followup, (SURVEYS, "survey.nps", runtime, channel, fields))
        if rng.random() < qa:
            total, criteria = qa_scores(rng, agent.quality)
            fields = {"agent": agent.name, "score": total, "criteria": criteria, **ref}
            when, _ = self.business(runtime, at_ms + int(rng.uniform(2, 72) * HOUR_MS))
            self.push(when, self._on_followup, (QUALITY, "qa.evaluated", runtime, channel, fields))

    def _followup(
        self, item: tuple[str, str, TeamRuntime, str, dict[str, object]], at_ms: int
    ) -> SimEvent:
        """A survey answer or QA form: its own entity, keyed by its event_id."""
        topic, type_, runtime, channel, fields = item
        value = self.base(type_, at_ms, runtime.name, channel)
        value.update(fields)
        return SimEvent(topic, str(value["event_id"]), value)

    # -- arrivals and contacts -----------------------------------------------

    def _hour(self, item: tuple[TeamRuntime, bool], at_ms: int) -> None:
        """Each hour, an ``agent.shift`` for every agent whose shift starts in it (at
        the first, also for those already on shift). Event ids come from the stream's
        seed, not the random generator, so the rest of the stream is as without them."""
        runtime, first = item
        hour_ms = at_ms - at_ms % HOUR_MS
        self.push(hour_ms + HOUR_MS, self._on_hour, (runtime, False))
        before = set(self.slot(runtime, hour_ms - HOUR_MS).agents)
        for agent in self.slot(runtime, hour_ms).agents:
            if agent in before and not first:
                continue
            start = hour_ms
            while agent in self.slot(runtime, start - HOUR_MS).agents and start > hour_ms - DAY_MS:
                start -= HOUR_MS
            end = hour_ms + HOUR_MS
            while agent in self.slot(runtime, end).agents and end < start + DAY_MS:
                end += HOUR_MS
            self.push(at_ms, self._on_shift, (runtime, agent, start, end))

    def _shift(self, item: tuple[TeamRuntime, Agent, int, int], at_ms: int) -> SimEvent:
        runtime, agent, start, end = item
        value: dict[str, object] = {
            "event_id": str(uuid.uuid5(self._shift_ids, f"{agent.name}:{start}")),
            "type": "agent.shift",
            "occurred_at": self.iso(at_ms),
            "team": runtime.name,
            "channel": runtime.channel,
            "agent": agent.name,
            "start": self.iso(start),
            "end": self.iso(end),
        }
        return SimEvent(AGENTS, agent.name, value)

    def _next_arrival(self, runtime: TeamRuntime) -> None:
        runtime.clock += self.rng.expovariate(runtime.arrivals_per_ms)
        self.push(int(runtime.clock), self._on_arrival, runtime)

    def _arrival(self, runtime: TeamRuntime, at_ms: int) -> SimEvent | None:
        """A candidate arrival at the peak rate, kept with the hour's intensity (thinning)."""
        self._next_arrival(runtime)
        rng = self.rng
        slot = self.slot(runtime, at_ms)
        if rng.random() * runtime.peak >= slot.intensity:
            return None
        draw = rng.random()
        if draw < runtime.contact_cut:
            return self._offer(runtime, slot, at_ms)
        if draw < runtime.ticket_cut:
            return self.tickets.open(runtime, at_ms)
        return self._certify(runtime, at_ms)

    def _certify(self, runtime: TeamRuntime, at_ms: int) -> SimEvent:
        rng = self.rng
        agent = rng.choice(runtime.agents)
        value = self.base("agent.certified", at_ms, runtime.name, runtime.channel)
        value["agent"] = agent.name
        value["certification"] = rng.choice(self.scenario.certifications)
        value["valid_days"] = rng.randint(90, 365)
        return SimEvent(AGENTS, agent.name, value)

    def _offer(self, runtime: TeamRuntime, slot: Slot, at_ms: int) -> SimEvent:
        rng = self.rng
        queue = runtime.queues.pick(rng)
        channel = runtime.queue_channels[queue.name].pick(rng)
        contact = Contact(f"c-{rng.getrandbits(80):020x}", runtime, queue.name, channel, at_ms)
        outcome = contact_outcome(
            rng,
            channel,
            self.profiles[channel],
            queue.wait_factor,
            slot.load,
            bool(slot.agents),
            self.behaviour,
        )
        if outcome.kind == ANSWERED:
            contact.agent = rng.choice(slot.agents)
            self.push(at_ms + outcome.wait_ms, self._on_answered, contact)
        else:
            self.push(at_ms + outcome.wait_ms, self._on_abandoned, (contact, outcome.reason))
        return SimEvent(
            CONTACTS, contact.contact_id, self._contact_event("contact.offered", contact, at_ms)
        )

    def _abandoned(self, item: tuple[Contact, str | None], at_ms: int) -> SimEvent:
        contact, reason = item
        value = self._contact_event("contact.abandoned", contact, at_ms)
        value["wait_seconds"] = (at_ms - contact.offered_ms) / 1000
        if reason is not None:
            value["reason"] = reason
        return SimEvent(CONTACTS, contact.contact_id, value)

    def _answered(self, contact: Contact, at_ms: int) -> SimEvent:
        agent = contact.agent
        if agent is None:  # pragma: no cover - an answer is only scheduled with an agent
            raise AssertionError("answered contact without agent")
        value = self._contact_event("contact.answered", contact, at_ms)
        value["agent"] = agent.name
        value["wait_seconds"] = (at_ms - contact.offered_ms) / 1000
        talk, hold, wrap = handle_times(self.rng, self.profiles[contact.channel], agent)
        contact.handle = (talk, hold, wrap)
        self.push(at_ms + (talk + hold + wrap) * 1000, self._on_completed, contact)
        return SimEvent(CONTACTS, contact.contact_id, value)

    def _completed(self, contact: Contact, at_ms: int) -> SimEvent:
        """Completion after talk, hold and wrap; PBX-like voice sources omit what they lack."""
        rng = self.rng
        b = self.behaviour
        agent = contact.agent
        if agent is None:  # pragma: no cover - only answered contacts complete
            raise AssertionError("completed contact without agent")
        talk, hold, wrap = contact.handle
        value = self._contact_event("contact.completed", contact, at_ms)
        value["agent"] = agent.name
        value["talk_seconds"] = talk
        transferred = rng.random() < b.transferred
        resolved: bool | None = not transferred and rng.random() < 0.45 + 0.45 * agent.quality
        if contact.channel == "voice" and rng.random() < b.pbx_like_voice:
            resolved = None
            if rng.random() < 0.5:
                value["transferred"] = transferred
        else:
            value["hold_seconds"] = hold
            value["wrap_seconds"] = wrap
            if rng.random() < b.resolved_null:
                resolved = None
            value["resolved"] = resolved
            value["transferred"] = transferred
        chances = (b.contact_csat, b.contact_nps, b.contact_qa)
        ref: dict[str, object] = {"contact_id": contact.contact_id}
        self.surveys_and_qa(contact.runtime, contact.channel, at_ms, agent, resolved, chances, ref)
        return SimEvent(CONTACTS, contact.contact_id, value)

    def _contact_event(self, type_: str, contact: Contact, at_ms: int) -> dict[str, object]:
        value = self.base(type_, at_ms, contact.runtime.name, contact.channel)
        value["contact_id"] = contact.contact_id
        value["queue"] = contact.queue
        return value
