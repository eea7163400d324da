"""Shared helpers of the benchmark: topics, fast producing, /metrics scraping, process memory."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from streams.settings import Settings, load_settings
from streams.topics import declare_topics

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "deploy" / "cckpi.yaml"
COUNTERS = (
    "cc_events_total",
    "cc_events_invalid_total",
    "cc_events_duplicate_total",
    "cc_events_late_total",
)
# (topic, key, value, timestamp_ms or None)
Record = tuple[str, bytes, bytes, int | None]


def unique_prefix(tag: str) -> str:
    """A topic prefix (and app id) no other run or section shares."""
    return f"bench-{tag}-{uuid.uuid4().hex[:8]}."


def settings_for(bootstrap: str, prefix: str) -> Settings:
    return load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)


def declare_cckpi_topics(bootstrap: str, prefix: str) -> Settings:
    """Declare every topic of a cckpi worker with ``prefix`` before anything reads it."""
    settings = settings_for(bootstrap, prefix)
    asyncio.run(declare_topics(settings))
    return settings


async def declare_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
    await admin.start()
    try:
        with contextlib.suppress(TopicAlreadyExistsError):
            await admin.create_topics([NewTopic(name, partitions, 1)])
    finally:
        await admin.close()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition aiokafka's default partitioner picks for ``key``."""
    return (murmur2(key) & 0x7FFFFFFF) % partitions


async def produce_fast(
    bootstrap: str, records: Iterable[Record], partitions: dict[str, int]
) -> int:
    """Produce pre-serialised records, batched per partition by hand (much faster than send()).

    Keys are partitioned like aiokafka's default partitioner, so per-key order holds.
    ``partitions`` maps each topic to its partition count. Returns the number sent.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks=1,
        max_request_size=4 * 1024 * 1024,
        max_batch_size=1024 * 1024,
    )
    await producer.start()
    builders: dict[tuple[str, int], Any] = {}
    pending: list[asyncio.Future[Any]] = []
    sent = 0

    async def flush(topic: str, partition: int) -> None:
        batch = builders.pop((topic, partition))
        pending.append(await producer.send_batch(batch, topic, partition=partition))
        if len(pending) >= 64:
            await asyncio.gather(*pending)
            pending.clear()

    try:
        for topic, key, value, timestamp in records:
            part = partition_of(key, partitions[topic])
            slot = (topic, part)
            builder = builders.get(slot)
            if builder is None:
                builder = builders[slot] = producer.create_batch()
            if builder.append(key=key, value=value, timestamp=timestamp) is None:
                await flush(topic, part)
                builder = builders[slot] = producer.create_batch()
                builder.append(key=key, value=value, timestamp=timestamp)
            sent += 1
        for topic, part in list(builders):
            await flush(topic, part)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent


async def topic_size(bootstrap: str, topic: str, partitions: int = 1) -> tuple[int, int]:
    """(records, bytes of keys and values) of a topic nobody writes to any more.

    Reads until a fetch comes back empty: Tansu's ListOffsets(latest) answers the base
    offset of the last record batch, not the log end, so end offsets cannot be trusted.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        max_partition_fetch_bytes=32 * 1024 * 1024,
        fetch_max_bytes=64 * 1024 * 1024,
    )
    await consumer.start()
    records = size = 0
    try:
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        while True:
            batch = await consumer.getmany(timeout_ms=2000, max_records=10000)
            if not batch:
                break
            for messages in batch.values():
                for message in messages:
                    records += 1
                    size += len(message.key or b"") + len(message.value or b"")
    finally:
        await consumer.stop()
    return records, size


# ---------------------------------------------------------------- /metrics

_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def fetch(url: str, timeout: float = 5.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return str(response.read().decode())
    except OSError:
        return None


def metrics_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/metrics"


def counts(text: str) -> dict[str, float]:
    """The four input counters, each summed over its labels."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    for line in text.splitlines():
        if line.startswith("cc_events_"):
            name = line.split("{", 1)[0].split(" ", 1)[0]
            if name in totals:
                totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


def counted(text: str) -> float:
    """accepted + invalid + duplicate + late: every input message lands in exactly one."""
    return sum(counts(text).values())


def samples(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` (exact name) with its labels."""
    out = []
    head = name + "{"
    for line in text.splitlines():
        if not (line.startswith(head) or line.startswith(name + " ")):
            continue
        match = _SAMPLE.match(line)
        if match:
            labels = dict(_LABEL.findall(match.group(2) or ""))
            out.append((labels, float(match.group(3))))
    return out


def gauge(text: str, name: str, **labels: str) -> float | None:
    """The sample of ``name`` whose labels are exactly ``labels``, if present."""
    for sample_labels, value in samples(text, name):
        if sample_labels == labels:
            return value
    return None


# ---------------------------------------------------------------- processes


def machine_busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (every core, every process: all of
    /proc/stat's first line but idle and iowait); None where there is no /proc."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
    busy = sum(ticks) - ticks[3] - ticks[4]
    return busy / os.sysconf("SC_CLK_TCK")


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM / VmRSS (bytes) of a live process, from /proc/<pid>/status."""
    out: dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS", "VmPeak"):
                out[key] = int(rest.split()[0]) * 1024
    return out


@dataclass
class Progress:
    """Polls a counter until it reaches a target; first and last sighting give the rate."""

    target: float
    first_time: float | None = None
    first_count: float = 0.0
    last_time: float | None = None
    last_count: float = 0.0
    polls: list[tuple[float, float]] = field(default_factory=list)

    def see(self, now: float, count: float) -> None:
        self.polls.append((now, count))
        if count > 0 and self.first_time is None:
            self.first_time, self.first_count = now, count
        if count > self.last_count:
            self.last_time, self.last_count = now, count

    @property
    def done(self) -> bool:
        return self.last_count >= self.target

    def rate(self) -> float | None:
        """Events/s between the first poll that saw any event and the last count change.

        The events already counted at the first sighting are left out (they were
        folded in the unknown time before it), so this never overstates the rate.
        """
        if self.first_time is None or self.last_time is None or self.last_time <= self.first_time:
            return None
        return (self.last_count - self.first_count) / (self.last_time - self.first_time)


def poll_until(
    read: Callable[[], float | None],
    progress: Progress,
    interval: float,
    timeout: float,
    alive: Callable[[], bool] = lambda: True,
) -> Progress:
    """Call ``read`` every ``interval`` s until ``progress`` is done or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not progress.done:
        started = time.monotonic()
        value = read()
        if value is not None:
            progress.see(time.monotonic(), value)
        if not alive():
            raise RuntimeError("the measured process exited")
        time.sleep(max(0.0, interval - (time.monotonic() - started)))
    return progress


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), math.ceil(q / 100 * len(ordered))))
    return ordered[rank - 1]


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def produce_contacts(
    bootstrap: str, prefix: str, start: float, days: int, events: int, shape: Any, seed: int
) -> tuple[Settings, int, dict[str, int]]:
    """Declare a worker's topics and produce about ``events`` synthetic contact events
    over ``days`` from ``start`` to its ``cc.contacts``: (settings, produced, count
    of each event type)."""
    from bench.synthetic import contact_events

    data = contact_events(start, start + days * 86400, events, shape, seed, prefix.rstrip("."))
    types = {
        name: sum(1 for _, _, _, value in data if f'"{name}"'.encode() in value)
        for name in ("contact.offered", "contact.answered")
    }
    settings = declare_cckpi_topics(bootstrap, prefix)
    topic = settings.topic("cc.contacts")
    records: list[Record] = [(topic, key, value, None) for _, _, key, value in data]
    asyncio.run(produce_fast(bootstrap, records, {topic: settings.input_partitions}))
    return settings, len(records), types
