"""Per-ticket reply memory: first-reply and next-reply samples, exact under reordering.

A ticket keeps its public messages. Samples are recomputed from them; the
caller gets the samples that appeared and the ones that vanished, so an earlier
reply arriving late (within grace) moves the sample instead of counting twice.
The memory is plain data, so it is checkpointed and restored as JSON.
"""

from __future__ import annotations

import bisect
from collections import Counter
from typing import Any, final

# A public message: (occurred_at, event_id, is_agent, agent, team, channel, created_at)
Message = tuple[float, str, bool, str | None, str, str, float]


@final
class Sample:
    """One reply measurement, counted in the window and scope of the reply that gave it.

    Plain compiled classes here, not dataclasses: a dataclass's generated ``__init__``
    stays an interpreted function, and these are built for every public reply."""

    __slots__ = ("agent", "at", "channel", "kind", "start", "team")

    def __init__(
        self, kind: str, at: float, start: float, team: str, channel: str, agent: str | None
    ) -> None:
        self.kind = kind  # "fr" (first reply) or "nr" (next reply)
        self.at = at
        self.start = start
        self.team = team
        self.channel = channel
        self.agent = agent

    def _fields(self) -> tuple[str, float, float, str, str, str | None]:
        return (self.kind, self.at, self.start, self.team, self.channel, self.agent)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sample) and self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "Sample(kind={!r}, at={!r}, start={!r}, team={!r}, channel={!r}, agent={!r})".format(
            *self._fields()
        )


@final
class Walker:
    """Where a walk over a ticket's messages stands: first reply given yet, and since
    when the customer has been waiting for the next one (None: not waiting)."""

    __slots__ = ("first_done", "wait_start")

    def __init__(self) -> None:
        self.first_done = False
        self.wait_start: float | None = None

    def step(self, message: Message) -> Sample | None:
        """Take the next public message in time order; the sample it gives, if any."""
        at, _eid, is_agent, agent, team, channel, created = message
        if not is_agent:
            if self.wait_start is None:
                self.wait_start = at
            return None
        sample = None
        if not self.first_done:
            sample = Sample("fr", at, created, team, channel, agent)
            self.first_done = True
        elif self.wait_start is not None:
            sample = Sample("nr", at, self.wait_start, team, channel, agent)
        self.wait_start = None
        return sample


@final
class TicketMemory:
    """A ticket's public messages in time order, the samples they give and when the
    ticket was last seen (in watermark time); the walk's state after the last message
    is derived, not checkpointed."""

    __slots__ = ("last_seen", "messages", "samples", "walker")

    def __init__(self, messages: list[Message] | None = None, last_seen: float = 0.0) -> None:
        self.messages: list[Message] = [] if messages is None else messages
        self.samples: list[Sample] = []
        self.last_seen = last_seen
        self.walker = Walker()

    def add(self, message: Message, watermark: float) -> tuple[list[Sample], list[Sample]]:
        """Insert a public message; return (new samples, retracted samples)."""
        at_time = message[0]
        last_seen = self.last_seen  # max(last_seen, watermark, at_time), in place
        if watermark > last_seen:
            last_seen = watermark
        if at_time > last_seen:
            last_seen = at_time
        self.last_seen = last_seen
        messages = self.messages
        size = len(messages)
        if size == 0 or _before(messages[size - 1], message):
            at = size  # after the others (bisect would say so, more slowly)
        else:
            at = bisect.bisect_left(messages, message[:2])
        if at < len(self.messages) and self.messages[at][:2] == message[:2]:
            return [], []
        if at == len(self.messages):
            # The usual case, a message after the others: one more step of the walk.
            self.messages.append(message)
            sample = self.walker.step(message)
            if sample is None:
                return [], []
            self.samples.append(sample)
            return [sample], []
        self.messages.insert(at, message)
        fresh, self.walker = walk(self.messages)
        before = self.samples
        self.samples = fresh
        # Multisets: two replies can give equal samples (same instant, agent and wait).
        now, was = Counter(fresh), Counter(before)
        return list((now - was).elements()), list((was - now).elements())

    def to_json(self) -> list[Any]:
        return [self.messages, self.last_seen]

    @classmethod
    def from_json(cls, data: list[Any]) -> TicketMemory:
        messages = [tuple(m) for m in data[0]]
        memory = cls(messages=messages, last_seen=data[1])
        memory.samples, memory.walker = walk(memory.messages)
        return memory


def _before(first: Message, second: Message) -> bool:
    """``first[:2] < second[:2]``: (time, event id) order, without slicing."""
    return first[0] < second[0] or (first[0] == second[0] and first[1] < second[1])


def walk(messages: list[Message]) -> tuple[list[Sample], Walker]:
    """The samples a time-ordered list of public messages gives (docs/semantics.md), and
    where the walk stands after the last one."""
    walker = Walker()
    samples = [s for s in map(walker.step, messages) if s is not None]
    return samples, walker
