"""Paces the generator against the wall clock and produces it to Kafka.

Simulated time runs `speed` times faster than wall time from `start`; an event
is sent once the wall clock reaches its simulated time. Sends are not awaited
one by one: a batch of sends is queued and its acknowledgements gathered
together, which lets aiokafka's linger batching do its job.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from streams.simulate.core import TOPICS, SimEvent
from streams.simulate.generator import TrafficGenerator

PROGRESS_SECONDS = 5.0
MAX_BATCH = 2_000
_DEFAULT_PRODUCER: dict[str, object] = {"linger_ms": 5, "max_batch_size": 256 * 1024}


@dataclass
class SimulationStats:
    """What a run produced: acknowledged messages per base topic and how far it got."""

    sent: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TOPICS, 0))
    sim_start: datetime | None = None
    sim_reached: datetime | None = None
    wall_seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.sent.values())


def simulate_batch(start: datetime, seed: int, count: int, rate: float) -> list[SimEvent]:
    """The first `count` events of the default scenario, for tests and benchmarks.

    The cyclic garbage collector is paused while the list is built: the events
    form no cycles, and full collections over hundreds of thousands of fresh
    dicts would otherwise halve the generation speed.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        return list(islice(TrafficGenerator(start=start, seed=seed, rate=rate).events(), count))
    finally:
        if enabled:
            gc.enable()


async def run_simulation(
    bootstrap_servers: str,
    topic_for: Callable[[str], str],
    *,
    rate: float,
    duration: float | None,
    start: datetime | None,
    speed: float,
    seed: int,
    producer_config: Mapping[str, object] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SimulationStats:
    """Produce simulated traffic until `duration` wall seconds pass (None: until cancelled).

    `topic_for` maps a base topic ("cc.contacts") to the real one (prefix).
    `producer_config` adds or overrides AIOKafkaProducer keyword arguments
    (security settings, acks, ...). On cancellation the queued messages are
    flushed, the producer stopped, a last progress line printed, and the
    CancelledError re-raised.
    """
    if not speed > 0:
        raise ValueError("speed must be positive")
    if duration is not None and duration < 0:
        raise ValueError("duration must not be negative")
    sim_start = start if start is not None else datetime.now(UTC)
    generator = TrafficGenerator(start=sim_start, seed=seed, rate=rate)
    stats = SimulationStats(sim_start=sim_start)
    config: dict[str, Any] = {**_DEFAULT_PRODUCER, **(producer_config or {})}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, **config)
    try:
        await producer.start()
    except BaseException:
        await producer.stop()
        raise
    pacer = _Pacer(producer, topic_for, generator, speed, duration, stats, progress)
    try:
        await pacer.run()
    finally:
        with contextlib.suppress(Exception):
            await pacer.settle()
        await producer.stop()
        stats.wall_seconds = time.monotonic() - pacer.wall_start
        pacer.report(final=True)
    return stats


class _Pacer:
    """The send loop: release due events in batches, sleep until the next is due."""

    def __init__(
        self,
        producer: AIOKafkaProducer,
        topic_for: Callable[[str], str],
        generator: TrafficGenerator,
        speed: float,
        duration: float | None,
        stats: SimulationStats,
        progress: Callable[[str], None] | None,
    ) -> None:
        self._producer = producer
        self._topics = {topic: topic_for(topic) for topic in TOPICS}
        self._events = generator.timed_events()
        self._sim_start_ms = generator.start_ms
        self._speed = speed
        self._stats = stats
        self._progress = progress
        self.wall_start = time.monotonic()
        self._deadline = None if duration is None else self.wall_start + duration
        self._pending: list[tuple[str, asyncio.Future[Any]]] = []
        self._last_report = self.wall_start
        self._last_total = 0
        self._reached_ms: int | None = None

    def _due_ms(self, wall: float) -> float:
        return self._sim_start_ms + (wall - self.wall_start) * self._speed * 1000

    async def run(self) -> None:
        at_ms, event = next(self._events)
        while True:
            now = time.monotonic()
            if self._deadline is not None and now >= self._deadline:
                return
            due = self._due_ms(now)
            sent = 0
            while at_ms <= due and sent < MAX_BATCH:
                await self._send(event)
                self._reached_ms = at_ms
                sent += 1
                at_ms, event = next(self._events)
            await self.settle()
            if now - self._last_report >= PROGRESS_SECONDS:
                self.report(final=False)
            if sent == MAX_BATCH:
                await asyncio.sleep(0)  # behind schedule: keep sending, but let others run
                continue
            wake = self.wall_start + (at_ms - self._sim_start_ms) / 1000 / self._speed
            limit = self._last_report + PROGRESS_SECONDS
            if self._deadline is not None:
                limit = min(limit, self._deadline)
            await asyncio.sleep(max(0.0, min(wake, limit) - time.monotonic()))

    async def _send(self, event: SimEvent) -> None:
        future = await self._producer.send(
            self._topics[event.topic],
            value=orjson.dumps(event.value),
            key=event.key.encode(),
        )
        self._pending.append((event.topic, future))

    async def settle(self) -> None:
        """Wait for every queued send's acknowledgement and count the successes.

        `asyncio.wait`, not `gather`: if this wait is cancelled the delivery
        futures stay untouched, so the cleanup after a cancellation can wait
        for (and count) the very same messages.
        """
        if not self._pending:
            return
        await asyncio.wait([future for _, future in self._pending])
        pending, self._pending = self._pending, []
        error: BaseException | None = None
        for topic, future in pending:
            if future.cancelled():
                continue
            if future.exception() is not None:
                error = error or future.exception()
            else:
                self._stats.sent[topic] += 1
        if self._reached_ms is not None:
            self._stats.sim_reached = datetime.fromtimestamp(self._reached_ms / 1000, UTC)
        if error is not None:
            raise error

    def report(self, *, final: bool) -> None:
        if self._progress is None:
            return
        now = time.monotonic()
        total = self._stats.total
        elapsed = max(now - self._last_report, 1e-9)
        rate = (total - self._last_total) / elapsed
        if final:
            rate = total / max(now - self.wall_start, 1e-9)
        self._last_report, self._last_total = now, total
        reached = self._stats.sim_reached.isoformat() if self._stats.sim_reached else "-"
        counts = " ".join(
            f"{topic.removeprefix('cc.')}={n}" for topic, n in self._stats.sent.items()
        )
        label = "done" if final else "sent"
        self._progress(f"{label} {total} events ({rate:.0f}/s) sim time {reached} | {counts}")
