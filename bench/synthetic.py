"""Cheap, contract-valid contact events for the memory, restart and freshness sections.

The realistic simulator (streams.simulate) costs about 20 us per event; these
sections need up to a million events with chosen shapes (thousands of agents,
hundreds of queues, weeks of windows), so they build the JSON directly.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import orjson

CHANNELS = ("voice", "chat", "messaging", "social")
CONTACTS = "cc.contacts"
# (occurred_at epoch seconds, base topic, key, value)
Timed = tuple[float, str, bytes, bytes]


@dataclass(frozen=True)
class Shape:
    """Who the events are spread over."""

    teams: int
    queues: int
    agents: int

    def team(self, index: int) -> str:
        return f"team-{index % self.teams:02d}"

    def queue(self, team: int, rng: random.Random) -> str:
        per_team = max(1, self.queues // self.teams)
        return f"q-{team % self.teams:02d}-{rng.randrange(per_team):03d}"

    def agent(self, team: int, rng: random.Random) -> str:
        per_team = max(1, self.agents // self.teams)
        return f"a-{team % self.teams:02d}-{rng.randrange(per_team):04d}"


_STAMPS: dict[int, str] = {}


def hash_channel(queue: str) -> int:
    """Each queue serves one channel (a voice queue, a chat queue...), as in real centres."""
    return int(queue.rsplit("-", 1)[1]) % len(CHANNELS)


def rfc3339(ts: float) -> str:
    """UTC RFC 3339 with milliseconds and an explicit offset (cached per second)."""
    second = int(ts)
    head = _STAMPS.get(second)
    if head is None:
        if len(_STAMPS) > 200_000:
            _STAMPS.clear()
        head = _STAMPS[second] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{head}.{int((ts - second) * 1000):03d}+00:00"


def contact_events(
    start: float,
    end: float,
    events: int,
    shape: Shape,
    seed: int,
    tag: str,
) -> list[Timed]:
    """About ``events`` contact events (offered, then answered + completed or abandoned).

    Contacts arrive uniformly between ``start`` and ``end``; the result is sorted
    by event time, so nothing is late whatever the grace period.
    """
    rng = random.Random(seed)
    out: list[Timed] = []
    contacts = max(1, events // 3)
    step = (end - start - 900) / contacts
    for n in range(contacts):
        t = start + n * step + rng.random() * step
        team_index = rng.randrange(shape.teams)
        team = shape.team(team_index)
        queue = shape.queue(team_index, rng)
        channel = CHANNELS[hash_channel(queue)]
        contact = f"{tag}-c{n}"
        key = contact.encode()
        common = {"team": team, "channel": channel, "contact_id": contact, "queue": queue}
        wait = round(rng.expovariate(1 / 25.0), 1)
        out.append(
            (
                t,
                CONTACTS,
                key,
                orjson.dumps(
                    {
                        "event_id": f"{tag}-{n}-o",
                        "type": "contact.offered",
                        "occurred_at": rfc3339(t),
                        **common,
                    }
                ),
            )
        )
        if rng.random() < 0.1:
            out.append(
                (
                    t + wait,
                    CONTACTS,
                    key,
                    orjson.dumps(
                        {
                            "event_id": f"{tag}-{n}-x",
                            "type": "contact.abandoned",
                            "occurred_at": rfc3339(t + wait),
                            "wait_seconds": wait,
                            **common,
                        }
                    ),
                )
            )
            continue
        agent = shape.agent(team_index, rng)
        talk = round(60 + rng.expovariate(1 / 180.0), 1)
        if t + wait + talk > end:
            talk = max(0.0, end - t - wait - 1)
        done = t + wait + talk
        out.append(
            (
                t + wait,
                CONTACTS,
                key,
                orjson.dumps(
                    {
                        "event_id": f"{tag}-{n}-a",
                        "type": "contact.answered",
                        "occurred_at": rfc3339(t + wait),
                        "agent": agent,
                        "wait_seconds": wait,
                        **common,
                    }
                ),
            )
        )
        out.append(
            (
                done,
                CONTACTS,
                key,
                orjson.dumps(
                    {
                        "event_id": f"{tag}-{n}-d",
                        "type": "contact.completed",
                        "occurred_at": rfc3339(done),
                        "agent": agent,
                        "talk_seconds": talk,
                        "wrap_seconds": round(rng.random() * 30, 1),
                        "resolved": rng.random() < 0.8,
                        **common,
                    }
                ),
            )
        )
    out.sort(key=lambda item: item[0])
    return out


def live_event(n: int, now: float, tag: str, shape: Shape) -> tuple[bytes, bytes]:
    """One ``contact.offered`` (key, value) at ``now``, for steady live traffic."""
    team_index = n % shape.teams
    contact = f"{tag}-l{n}"
    value = orjson.dumps(
        {
            "event_id": f"{tag}-l{n}",
            "type": "contact.offered",
            "occurred_at": rfc3339(now),
            "team": shape.team(team_index),
            "channel": CHANNELS[n % len(CHANNELS)],
            "contact_id": contact,
            "queue": f"q-{team_index:02d}-{n % 7:03d}",
        }
    )
    return contact.encode(), value


def marker_event(n: int, now: float, tag: str) -> tuple[bytes, bytes]:
    """The freshness marker: a ``contact.offered`` for a queue no other event uses."""
    contact = f"{tag}-m{n}"
    value = orjson.dumps(
        {
            "event_id": f"{tag}-m{n}",
            "type": "contact.offered",
            "occurred_at": rfc3339(now),
            "team": "team-00",
            "channel": "voice",
            "contact_id": contact,
            "queue": f"fresh-{n}",
        }
    )
    return contact.encode(), value
