"""Throughput, side by side on one broker and the same events.

1. ceiling: a raw aiokafka consumer + ``json.loads`` of every value;
2. cckpi's full pipeline: a real ``cckpi worker`` process started once the events wait
   on its input topics, timed from its first counted batch to its last;
3. the idiomatic Faust baseline (bench/faust_baseline.py), timed the same way;
plus the fold alone, in-process (no Kafka), which shows what the I/O around it costs, and
the raw consumer validating every event with cckpi's decoder (no KPIs): the floor under
any pipeline that validates what the contract asks.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from bench.common import (
    CONFIG,
    REPO,
    Progress,
    Record,
    counts,
    declare_cckpi_topics,
    declare_topic,
    fetch,
    machine_busy_seconds,
    metrics_url,
    poll_until,
    produce_fast,
    samples,
    settings_for,
)
from streams.broker import free_port
from streams.events.decode import Decoder
from streams.events.models import INPUT_TOPICS
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, terminate

SIM_RATE = 10.0
"""Simulated events per second: 200k events span about five and a half hours."""


@dataclass
class Dataset:
    """The N events, serialised once, per base topic."""

    values: list[tuple[str, bytes, bytes, float]]  # (base topic, key, value, occurred_at)
    types: Counter[str] = field(default_factory=Counter)
    unique: int = 0
    """Distinct event ids (the simulator may repeat some on purpose)."""

    def __len__(self) -> int:
        return len(self.values)


@dataclass
class Rate:
    name: str
    events: int
    rate: float | None
    cpu_us: float | None = None
    note: str = ""


def make_dataset(events: int, seed: int) -> Dataset:
    """``events`` realistic events of the default scenario (every topic), ending about now."""
    hours = events / SIM_RATE / 3600 * 1.2 + 1
    start = (datetime.now(UTC) - timedelta(hours=hours)).replace(minute=0, second=0, microsecond=0)
    simulated = simulate_batch(start, seed=seed, count=events, rate=SIM_RATE)
    dataset = Dataset([])
    ids = set()
    for event in simulated:
        ids.add(event.value["event_id"])
        value = orjson.dumps(event.value)
        at = datetime.fromisoformat(str(event.value["occurred_at"])).timestamp()
        dataset.values.append((event.topic, event.key.encode(), value, at))
        dataset.types[str(event.value["type"])] += 1
    dataset.unique = len(ids)
    return dataset


def produce_for_cckpi(bootstrap: str, prefix: str, dataset: Dataset) -> None:
    settings = declare_cckpi_topics(bootstrap, prefix)
    parts = {settings.topic(t): settings.input_partitions for t in INPUT_TOPICS}
    records: list[Record] = [(prefix + t, k, v, None) for t, k, v, _ in dataset.values]
    asyncio.run(produce_fast(bootstrap, records, parts))


# ---------------------------------------------------------------- (0) fold only


def fold_only(dataset: Dataset, batch: int = 20000) -> Rate:
    """PartitionState.fold over the same events in-process: no Kafka, no partials, no merge."""
    settings = load_settings(config=CONFIG)
    runtime = Runtime(settings)
    by_topic: dict[str, list[bytes]] = {}
    for topic, _key, value, _at in dataset.values:
        by_topic.setdefault(topic, []).append(value)
    started, cpu = time.perf_counter(), time.process_time()
    for topic, values in by_topic.items():
        state = runtime.source_state(f"{topic}:0")
        for first in range(0, len(values), batch):
            state.fold(enumerate(values[first : first + batch], first))
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(dataset)
    return Rate("fold only (in-process, no Kafka)", n, n / wall, cpu / n * 1e6)


# ---------------------------------------------------------------- (1) ceiling


RAW = "raw aiokafka + json.loads (ceiling)"
VALIDATED = "raw aiokafka + cckpi validation only (no KPIs)"
READ_ONLY = "raw aiokafka, records only (no parsing): reading"
CONFLUENT = "raw confluent-kafka (librdkafka) + json.loads"


async def _raw(
    bootstrap: str,
    topics: dict[str, str],
    partitions: int,
    expected: int,
    validate: bool,
    parse: bool = True,
) -> Rate:
    """Read ``topics`` (prefixed name -> contract name) from the start: ``json.loads`` of
    every value, or with ``validate`` cckpi's own ``Decoder`` (pydantic + timestamps), or
    without ``parse`` nothing but the records aiokafka builds."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        enable_auto_commit=False,
        fetch_max_bytes=64 * 1024 * 1024,
        max_partition_fetch_bytes=8 * 1024 * 1024,
        fetch_max_wait_ms=100,
        max_poll_records=10000,
    )
    decoders = {t: Decoder(base, 1 << 20) for t, base in topics.items()}
    name = VALIDATED if validate else RAW if parse else READ_ONLY
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        seen = 0
        started = cpu = None
        deadline = time.monotonic() + 120
        while seen < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=1000, max_records=10000)
            if batches and started is None:
                started, cpu = time.perf_counter(), time.process_time()
            for tp, messages in batches.items():
                if validate:
                    decode = decoders[tp.topic].decode_timed  # the worker's call
                    for message in messages:
                        decode(message.value)
                elif parse:
                    for message in messages:
                        json.loads(message.value)
                seen += len(messages)
        if started is None or cpu is None:
            return Rate(name, seen, None)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await consumer.stop()
    return Rate(name, seen, seen / wall, cpu / seen * 1e6)


def raw_ceiling(
    bootstrap: str, prefix: str, expected: int, validate: bool = False, parse: bool = True
) -> Rate:
    """Read the cckpi input topics (the same N events) from the start, no consumer group."""
    settings = load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    topics = {settings.topic(t): t for t in INPUT_TOPICS}
    return asyncio.run(
        _raw(bootstrap, topics, settings.input_partitions, expected, validate, parse)
    )


def raw_confluent(bootstrap: str, prefix: str, expected: int) -> Rate:
    """The same read with confluent-kafka (librdkafka): assigned partitions from the start,
    ``consume(10000)`` + ``json.loads``; fetch sizes as the aiokafka row's."""
    try:
        from confluent_kafka import OFFSET_BEGINNING, Consumer
        from confluent_kafka import TopicPartition as Partition
    except ImportError:
        return Rate(CONFLUENT, 0, None, note="confluent-kafka not installed (pip install it)")
    settings = load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-confluent-{os.getpid()}",  # required; nothing is committed
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 8 * 1024 * 1024,
            "fetch.wait.max.ms": 100,
            "queued.max.messages.kbytes": 256 * 1024,
        }
    )
    consumer.assign(
        [
            Partition(settings.topic(t), p, OFFSET_BEGINNING)
            for t in INPUT_TOPICS
            for p in range(settings.input_partitions)
        ]
    )
    seen = 0
    started = cpu = None
    deadline = time.monotonic() + 120
    try:
        while seen < expected and time.monotonic() < deadline:
            messages = consumer.consume(10000, 1.0)
            if messages and started is None:
                started, cpu = time.perf_counter(), time.process_time()
            for message in messages:
                value = message.value()
                if message.error() is None and value is not None:
                    json.loads(value)
                    seen += 1
    finally:
        consumer.close()
    if started is None or cpu is None:
        return Rate(CONFLUENT, seen, None)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return Rate(CONFLUENT, seen, seen / wall, cpu / seen * 1e6, "librdkafka's threads included")


def decode_only(dataset: Dataset) -> Rate:
    """cckpi's ``Decoder`` over the same values in-process: what validation costs."""
    decoders = {t: Decoder(t, 1 << 20) for t in INPUT_TOPICS}
    started, cpu = time.perf_counter(), time.process_time()
    for topic, _key, value, _at in dataset.values:
        decoders[topic].decode_timed(value)  # the call the worker's fold makes
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    n = len(dataset)
    return Rate("decode only (in-process, no Kafka)", n, n / wall, cpu / n * 1e6)


# ---------------------------------------------------------------- (2) cckpi


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class CpuProgress(Progress):
    """Progress that also samples the measured processes' CPU time at each new count."""

    pids: tuple[int, ...] = ()
    first_cpu: float | None = None
    last_cpu: float | None = None
    first_busy: float | None = None
    last_busy: float | None = None
    """The whole machine's busy CPU seconds at the same two moments."""

    def see(self, now: float, count: float) -> None:
        before_first, before_last = self.first_time, self.last_count
        super().see(now, count)
        if before_first is None and self.first_time is not None:
            self.first_cpu, self.first_busy = self._cpu(), machine_busy_seconds()
        if count > before_last:
            self.last_cpu, self.last_busy = self._cpu(), machine_busy_seconds()

    def _cpu(self) -> float | None:
        """CPU seconds of the measured processes together."""
        each = [cpu_seconds(pid) for pid in self.pids]
        return None if None in each else sum(c for c in each if c is not None)

    def cores(self) -> dict[str, float]:
        """Cores the processes (``worker_cores``) and the whole machine (``machine_cores``)
        used over the rate's span; empty where that cannot be told."""
        if self.first_time is None or self.last_time is None:
            return {}
        wall = self.last_time - self.first_time
        if wall <= 0 or self.first_cpu is None or self.last_cpu is None:
            return {}
        if self.first_busy is None or self.last_busy is None:
            return {}
        return {
            "worker_cores": (self.last_cpu - self.first_cpu) / wall,
            "machine_cores": (self.last_busy - self.first_busy) / wall,
        }

    def cpu_us(self) -> float | None:
        events = self.last_count - self.first_count
        if self.first_cpu is None or self.last_cpu is None or events <= 0:
            return None
        return (self.last_cpu - self.first_cpu) / events * 1e6


class CommittedOffsets:
    """Sum of the ingest group's committed offsets: progress read from the broker alone.

    The worker commits a batch's offsets after its partial record is acknowledged,
    right after it bumps its counters, so this sees the same moments as the counters
    on /metrics without asking the worker anything (a /metrics scrape runs on the
    worker's event loop and costs it tens of milliseconds).
    """

    def __init__(self, bootstrap: str, group: str, prefix: str, partitions: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.group = group
        self.tps = [TopicPartition(prefix + t, p) for t in INPUT_TOPICS for p in range(partitions)]
        self.admin = self.loop.run_until_complete(self._start(bootstrap))

    @staticmethod
    async def _start(bootstrap: str) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        await admin.start()
        return admin

    def read(self) -> float | None:
        try:
            found = self.loop.run_until_complete(
                self.admin.list_consumer_group_offsets(self.group, partitions=self.tps)
            )
        except Exception:  # the group may not exist yet
            return None
        return float(sum(max(0, meta.offset) for meta in found.values()))

    def close(self) -> None:
        self.loop.run_until_complete(self.admin.close())
        self.loop.close()


def cckpi_pipeline(
    bootstrap: str,
    prefix: str,
    workdir: Path,
    expected: int,
    unique: int | None = None,
    interval: float = 0.2,
    extra_env: dict[str, str] | None = None,
    keep: bool = False,
    via: str = "metrics",
) -> tuple[Rate, dict[str, float], WorkerProcess]:
    """Start a worker on the waiting events; time first counted batch -> all counted.

    ``via="metrics"``: progress is accepted + invalid + late on /metrics (every
    message judged for the first time), polled every ``interval`` s. Duplicates are
    reported beside it: the data set has ``expected - unique`` repeated event ids,
    anything above that was delivered to the fold twice.
    ``via="offsets"``: progress is the ingest group's committed offsets (every message
    folded and its partial written), polled every ``interval`` s; /metrics is read
    only at the end, to check the counters.
    The worker is stopped unless ``keep``.
    """
    unique = expected if unique is None else unique
    worker = WorkerProcess(bootstrap, prefix, workdir, config=CONFIG, extra_env=extra_env)
    worker.start()
    assert worker.process is not None
    started = time.monotonic()
    url = metrics_url(worker.port)
    up: list[float] = []
    last: dict[str, float] = {}
    scrapes: list[tuple[float, float]] = []  # (began, seconds) of every answered scrape
    texts: list[str] = [""]  # the last /metrics text

    def scrape() -> float | None:
        began = time.monotonic()
        text = fetch(url)
        if text is None:
            return None
        scrapes.append((began, time.monotonic() - began))
        texts[0] = text
        if not up:
            up.append(time.monotonic())
        last.update(counts(text))
        return sum(v for k, v in last.items() if k != "cc_events_duplicate_total")

    offsets = None
    progress = CpuProgress(expected if via == "offsets" else unique, pids=(worker.process.pid,))
    alive = lambda: worker.process is not None and worker.process.poll() is None  # noqa: E731
    try:
        read = scrape
        if via == "offsets":
            group = f"{worker.env['CCKPI_APP_ID']}-ingest"
            partitions = settings_for(bootstrap, prefix).input_partitions
            offsets = CommittedOffsets(bootstrap, group, prefix, partitions)
            read = offsets.read
        poll_until(read, progress, interval, timeout=max(180.0, expected / 2000), alive=alive)
        if offsets is not None:  # the counters must agree with the offsets
            deadline = time.monotonic() + 15
            while (scrape() or 0.0) < unique and time.monotonic() < deadline:
                time.sleep(0.2)
    except BaseException:
        worker.stop()  # never leave a worker behind, even when asked to keep it
        raise
    finally:
        if offsets is not None:
            offsets.close()
        if not keep:
            worker.stop()
    duplicates = last.get("cc_events_duplicate_total", 0.0)
    span = (progress.first_time or 0.0, progress.last_time or 0.0)
    inside = [seconds for began, seconds in scrapes if span[0] <= began < span[1]]
    timings = {
        "first_counted_s": (progress.first_time or float("nan")) - started,
        "all_counted_s": (progress.last_time or float("nan")) - started,
        "progress": progress.last_count,
        "first_poll_count": progress.first_count,
        "judged": sum(v for k, v in last.items() if k != "cc_events_duplicate_total"),
        "duplicates_counted": duplicates,
        "redelivered": duplicates - (expected - unique),
        "four_counter_sum": sum(last.values()),
        "scrapes": len(inside),
        "scrape_mean_s": sum(inside) / len(inside) if inside else float("nan"),
    }
    timings.update(progress.cores())
    timings.update(
        {
            f"stage_{labels['stage']}_cpu_s": value
            for labels, value in samples(texts[0], "cc_stage_cpu_seconds_total")
        }
    )
    done = progress.done and timings["judged"] >= unique
    note = "" if done else f"only {timings['judged']:.0f} of {unique} judged"
    source = "committed offsets" if via == "offsets" else f"/metrics every {interval} s"
    rate = Rate(
        f"cckpi full pipeline (progress from {source})",
        int(progress.last_count),
        progress.rate(),
        progress.cpu_us(),
        note,
    )
    return rate, timings, worker


ASSIGNED = re.compile(r"assigned (\d+) partitions")


def _settled(workers: list[WorkerProcess], partitions: int) -> bool:
    """Whether every worker holds input partitions and together all of them, by the last
    "assigned N partitions" line each has logged (a rebalance revokes them all first)."""
    last = [ASSIGNED.findall(worker.log_text()) for worker in workers]
    return all(last) and sum(int(found[-1]) for found in last) == partitions


def cckpi_workers(
    bootstrap: str,
    prefix: str,
    workdir: Path,
    expected: int,
    count: int = 2,
    interval: float = 0.1,
) -> tuple[Rate, dict[str, float]]:
    """``count`` workers of one app (one ingest group) on the waiting events.

    Start-up and group joins are excluded as for one worker, and so is the
    rebalance that follows: the rate runs from the first poll of the committed
    offsets after every worker holds its share of the partitions to the poll that
    sees all events folded. CPU: the workers' together. At the end the four event
    counters summed over every worker's /metrics must equal the events sent.
    """
    workers = [WorkerProcess(bootstrap, prefix, workdir, config=CONFIG) for _ in range(count)]
    for worker in workers:
        worker.start()
    started = time.monotonic()
    settings = settings_for(bootstrap, prefix)
    total = settings.input_partitions * len(INPUT_TOPICS)
    offsets = CommittedOffsets(
        bootstrap, f"{workers[0].env['CCKPI_APP_ID']}-ingest", prefix, settings.input_partitions
    )
    pids = tuple(w.process.pid for w in workers if w.process is not None)
    progress = CpuProgress(expected, pids=pids)

    def alive() -> bool:
        return all(w.process is not None and w.process.poll() is None for w in workers)

    settled = None
    try:
        deadline = time.monotonic() + 120
        while not _settled(workers, total) and time.monotonic() < deadline:
            if not alive():
                raise RuntimeError("a worker exited")
            time.sleep(interval)
        settled = time.monotonic() - started
        poll_until(
            offsets.read, progress, interval, timeout=max(180.0, expected / 2000), alive=alive
        )
        judged = 0.0
        deadline = time.monotonic() + 15
        while judged < expected and time.monotonic() < deadline:
            found = [counts(fetch(metrics_url(w.port)) or "") for w in workers]
            judged = sum(sum(c.values()) for c in found)
            time.sleep(0.2)
    finally:
        offsets.close()
        for worker in workers:
            worker.stop()
    timings = {
        "settled_s": settled if settled is not None else float("nan"),
        "first_counted_s": (progress.first_time or float("nan")) - started,
        "first_poll_count": progress.first_count,
        "four_counter_sum": judged,
    }
    timings.update(progress.cores())
    note = "" if progress.done and judged >= expected else f"only {judged:.0f} of {expected} judged"
    rate = Rate(
        f"{count} cckpi workers, one app (committed offsets)",
        int(progress.last_count),
        progress.rate(),
        progress.cpu_us(),
        note,
    )
    return rate, timings


# ---------------------------------------------------------------- (3) Faust baseline


def faust_baseline(
    bootstrap: str,
    dataset: Dataset,
    workdir: Path,
    cap_events: int,
    cap_seconds: float,
    interval: float = 0.2,
) -> tuple[Rate, dict[str, float]]:
    """The Faust agent + windowed table on a copy of the events, keyed by team."""
    tag = f"bench-faust-{os.getpid()}-{int(time.time())}"
    topic = f"{tag}.events"
    partitions = 4
    copy = dataset.values[: min(len(dataset), cap_events * 2)]
    asyncio.run(declare_topic(bootstrap, topic, partitions))
    records: list[Record] = []
    for _topic, _key, value, at in copy:
        team = orjson.loads(value)["team"].encode()
        records.append((topic, team, value, int(at * 1000)))
    asyncio.run(produce_fast(bootstrap, records, {topic: partitions}))
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
        "BENCH_FAUST_BROKER": f"kafka://{bootstrap}",
        "BENCH_FAUST_APP_ID": tag,
        "BENCH_FAUST_TOPIC": topic,
        "BENCH_FAUST_PARTITIONS": str(partitions),
        "BENCH_FAUST_DATADIR": str(workdir / "faust-data"),
    }
    faust = Path(sys.executable).parent / "faust"
    command = [str(faust), "-A", "bench.faust_baseline", "worker", "-l", "info"]
    command += ["--web-port", str(port)]
    with open(workdir / "faust-baseline.log", "ab") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    started = time.monotonic()
    target = min(cap_events, len(copy))
    progress = CpuProgress(target, pids=(process.pid,))
    url = f"http://127.0.0.1:{port}/count"

    def read() -> float | None:
        text = fetch(url)
        if text is None:
            return None
        value = float(json.loads(text)["processed"])
        if progress.first_time is not None and time.monotonic() - progress.first_time > cap_seconds:
            progress.target = min(progress.target, value)  # time cap reached: stop here
        return value

    try:
        poll_until(
            read, progress, interval, timeout=90 + cap_seconds, alive=lambda: process.poll() is None
        )
    finally:
        terminate(process)
    timings = {
        "first_counted_s": (progress.first_time or float("nan")) - started,
        "measured_s": (progress.last_time or 0.0) - (progress.first_time or 0.0),
        "counted": progress.last_count,
    }
    note = (
        f"first {progress.last_count - progress.first_count:.0f} events / "
        f"{timings['measured_s']:.0f} s (capped at {cap_events} events or {cap_seconds:.0f} s)"
    )
    rate = Rate(
        "Faust agent + tumbling Table += (baseline)",
        int(progress.last_count),
        progress.rate(),
        progress.cpu_us(),
        note,
    )
    return rate, timings
