"""Small value types shared by the generator and the ticket lifecycle.

Split out so `tickets.py` can build events without importing the generator
(which imports it); nothing here draws random numbers or keeps a clock.
"""

from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate
from typing import Any, Generic, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

from streams.simulate.scenario import Agent, Queue, Scenario, Team

CONTACTS = "cc.contacts"
TICKETS = "cc.tickets"
SURVEYS = "cc.surveys"
QUALITY = "cc.quality"
AGENTS = "cc.agents"
TOPICS = (CONTACTS, TICKETS, SURVEYS, QUALITY, AGENTS)

T = TypeVar("T")


class SimEvent(NamedTuple):
    """One message: base topic name (no prefix), message key, contract event object."""

    topic: str
    key: str
    value: dict[str, object]


Handler = Callable[[Any, int], SimEvent | None]


@dataclass(frozen=True, slots=True)
class Slot:
    """One UTC hour of one team: arrival intensity, queue load, agents on shift."""

    intensity: float
    load: float
    agents: tuple[Agent, ...]


class Picker(Generic[T]):
    """Weighted choice by bisecting cumulative weights (much cheaper than rng.choices)."""

    __slots__ = ("_items", "_cumulative", "_total")

    def __init__(self, weighted: tuple[tuple[T, float], ...]) -> None:
        self._items = [item for item, _ in weighted]
        self._cumulative = list(accumulate(weight for _, weight in weighted))
        self._total = self._cumulative[-1]

    def pick(self, rng: random.Random) -> T:
        index = bisect(self._cumulative, rng.random() * self._total)
        return self._items[min(index, len(self._items) - 1)]


class TeamRuntime:
    """A team's arrival process, its weighted picks and its cache of hourly slots."""

    __slots__ = (
        "team",
        "name",
        "zone",
        "holidays",
        "agents",
        "queues",
        "queue_channels",
        "ticket_channels",
        "channel",
        "arrivals_per_ms",
        "peak",
        "contact_cut",
        "ticket_cut",
        "clock",
        "slots",
    )

    def __init__(
        self, team: Team, scenario: Scenario, peak_arrivals_per_second: float, peak: float
    ) -> None:
        self.team = team
        self.name = team.name
        self.zone = ZoneInfo(team.timezone)
        self.holidays = frozenset(team.holidays)
        self.agents = tuple(agent for agent in scenario.agents if agent.team == team.name)
        if not self.agents:
            raise ValueError(f"team {team.name!r} has no agents")
        self.queues: Picker[Queue] = Picker(tuple((queue, queue.weight) for queue in team.queues))
        self.queue_channels = {queue.name: Picker(queue.channels) for queue in team.queues}
        self.ticket_channels = Picker(team.ticket_channels)
        self.channel = team.queues[0].channels[0][0] if team.queues else team.ticket_channels[0][0]
        self.arrivals_per_ms = peak_arrivals_per_second / 1000.0
        self.peak = peak
        cert = scenario.behaviour.certification_fraction
        self.contact_cut = (1 - cert) * team.contact_fraction
        self.ticket_cut = 1 - cert
        self.clock = 0.0
        self.slots: dict[int, Slot] = {}


class Contact:
    """A queued contact in flight."""

    __slots__ = ("contact_id", "runtime", "queue", "channel", "offered_ms", "agent", "handle")

    def __init__(
        self, contact_id: str, runtime: TeamRuntime, queue: str, channel: str, offered_ms: int
    ) -> None:
        self.contact_id = contact_id
        self.runtime = runtime
        self.queue = queue
        self.channel = channel
        self.offered_ms = offered_ms
        self.agent: Agent | None = None
        self.handle = (0, 0, 0)
