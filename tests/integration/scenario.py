"""A hard, reproducible input: simulated days, reordered within grace, repeats, late events."""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass
from datetime import datetime

import orjson

from streams.simulate.runner import simulate_batch
from tests.oracle.reference import Arrival

PARTITIONS = 4


def partition_of(key: str) -> int:
    """A stable partitioner, so the test knows where each message lands."""
    return zlib.crc32(key.encode()) % PARTITIONS


@dataclass(frozen=True)
class Message:
    topic: str
    key: bytes
    value: bytes
    partition: int


def hard_stream(
    start: datetime,
    count: int,
    rate: float,
    seed: int,
    grace: float,
    duplicate_share: float = 0.01,
    late_share: float = 0.003,
) -> list[Message]:
    """Simulated events per partition, jittered by up to ``grace / 2`` (never late by
    itself), with repeats shortly after the original and a few events held back by
    hours (late past grace)."""
    rng = random.Random(seed)
    per_partition: dict[tuple[str, int], list[tuple[float, Message]]] = {}
    for event in simulate_batch(start, seed=seed, count=count, rate=rate):
        value = orjson.dumps(event.value)
        message = Message(event.topic, event.key.encode(), value, partition_of(event.key))
        at = datetime.fromisoformat(str(event.value["occurred_at"])).timestamp()
        per_partition.setdefault((event.topic, message.partition), []).append((at, message))
    out: list[Message] = []
    for arrivals in per_partition.values():
        keyed = [(at + rng.uniform(0, grace / 2), m) for at, m in arrivals]
        held = [
            (at + rng.uniform(3 * 3600, 6 * 3600), m)
            for at, m in keyed
            if rng.random() < late_share
        ]
        repeats = [
            (at + rng.uniform(1, 600), m) for at, m in keyed if rng.random() < duplicate_share
        ]
        held_ids = {id(m) for _, m in held}
        ordered = [(at, m) for at, m in keyed if id(m) not in held_ids] + held + repeats
        ordered.sort(key=lambda pair: pair[0])
        out.extend(m for _, m in ordered)
    return out


def arrivals(messages: list[Message]) -> list[Arrival]:
    return [Arrival(m.topic, m.partition, m.value) for m in messages]
