"""Per-ticket reply memory: first-reply and next-reply samples, exact under reordering.

A ticket keeps its public messages. Samples are recomputed from them; the
caller gets the samples that appeared and the ones that vanished, so an earlier
reply arriving late (within grace) moves the sample instead of counting twice.
The memory is plain data, so it is checkpointed and restored as JSON.
"""

from __future__ import annotations

import bisect
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# A public message: (occurred_at, event_id, is_agent, agent, team, channel, created_at)
Message = tuple[float, str, bool, str | None, str, str, float]


@dataclass(frozen=True, slots=True)
class Sample:
    """One reply measurement, counted in the window and scope of the reply that gave it."""

    kind: str  # "fr" (first reply) or "nr" (next reply)
    at: float
    start: float
    team: str
    channel: str
    agent: str | None


@dataclass(slots=True)
class TicketMemory:
    messages: list[Message] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    last_seen: float = 0.0

    def add(self, message: Message, watermark: float) -> tuple[list[Sample], list[Sample]]:
        """Insert a public message; return (new samples, retracted samples)."""
        self.last_seen = max(self.last_seen, watermark, message[0])
        at = bisect.bisect_left(self.messages, message[:2])
        if at < len(self.messages) and self.messages[at][:2] == message[:2]:
            return [], []
        self.messages.insert(at, message)
        fresh = walk(self.messages)
        before = self.samples
        self.samples = fresh
        if fresh[: len(before)] == before:  # the usual case: a message after the others
            return fresh[len(before) :], []
        # Multisets: two replies can give equal samples (same instant, agent and wait).
        now, was = Counter(fresh), Counter(before)
        return list((now - was).elements()), list((was - now).elements())

    def to_json(self) -> list[Any]:
        return [self.messages, self.last_seen]

    @classmethod
    def from_json(cls, data: list[Any]) -> TicketMemory:
        messages = [tuple(m) for m in data[0]]
        memory = cls(messages=messages, last_seen=data[1])
        memory.samples = walk(memory.messages)
        return memory


def walk(messages: list[Message]) -> list[Sample]:
    """The samples a time-ordered list of public messages gives (docs/semantics.md)."""
    samples: list[Sample] = []
    first_done = False
    wait_start: float | None = None
    for at, _eid, is_agent, agent, team, channel, created in messages:
        if not is_agent:
            if wait_start is None:
                wait_start = at
            continue
        if not first_done:
            samples.append(Sample("fr", at, created, team, channel, agent))
            first_done = True
        elif wait_start is not None:
            samples.append(Sample("nr", at, wait_start, team, channel, agent))
        wait_start = None
    return samples
