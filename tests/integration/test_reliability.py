"""Reliability: SIGKILL mid-run, scale-out and takeover (on each broker: embedded and Apache
Kafka), broker outages (embedded; Kafka's in tests/integration/kafka/).

Every final aggregate is compared with the independent oracle (tests/oracle), key for
key and with no tolerance beyond float rounding, after the workers were killed and
restarted. Counters reset when a worker restarts, so the proof is in the aggregates.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import threading
import time
import urllib.request
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
import yaml

from streams.broker import EmbeddedBroker, free_port
from streams.kafka_local import LocalKafka
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until
from tests.integration.scenario import Message, arrivals, hard_stream
from tests.oracle.compare import diff_finals
from tests.oracle.reference import OracleConfig, OracleResult, compute

pytestmark = pytest.mark.integration

GRACE = 300.0
COUNTERS = (
    "cc_events_total",
    "cc_events_invalid_total",
    "cc_events_duplicate_total",
    "cc_events_late_total",
)
IGNORED_FIELDS = {"updated_at"}


# ------------------------------------------------------------------ helpers


class Oracle:
    """Runs the (slow, CPU-bound) oracle in a thread while the worker works."""

    def __init__(self, messages: Sequence[Message], config_path: Path) -> None:
        self._result: OracleResult | None = None
        self._error: BaseException | None = None
        config = OracleConfig.from_config_file(
            yaml.safe_load(config_path.read_text()), grace_seconds=GRACE
        )

        def run() -> None:
            try:
                self._result = compute(arrivals(list(messages)), config)
            except BaseException as exc:  # surfaced by result()
                self._error = exc

        self._thread = threading.Thread(target=run, name="oracle", daemon=True)
        self._thread.start()

    def result(self, timeout: float = 300) -> OracleResult:
        self._thread.join(timeout)
        if self._error is not None:
            raise self._error
        assert self._result is not None, "the oracle did not finish"
        return self._result


class Feeder:
    """Produces messages in chunks from a thread, at a pace, so workers die mid-stream."""

    def __init__(
        self, bootstrap: str, prefix: str, messages: Sequence[Message], chunks: int, pause: float
    ) -> None:
        self.sent = 0
        self.error: BaseException | None = None
        size = math.ceil(len(messages) / chunks)
        parts = [messages[i : i + size] for i in range(0, len(messages), size)]

        def run() -> None:
            try:
                for part in parts:
                    batch = [(prefix + m.topic, m.key, m.value, m.partition) for m in part]
                    asyncio.run(produce(bootstrap, batch))
                    self.sent += len(part)
                    time.sleep(pause)
            except BaseException as exc:
                self.error = exc

        self._thread = threading.Thread(target=run, name="feeder", daemon=True)
        self._thread.start()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the feeder did not finish"
        if self.error is not None:
            raise self.error


def counted(worker: WorkerProcess) -> float:
    """Messages this worker process has classified (its counters start at 0)."""
    samples = worker.samples()
    return sum(metric_sum(samples, name) for name in COUNTERS)


def lag(worker: WorkerProcess) -> float | None:
    samples = worker.samples()
    if not any(name == "cc_consumer_lag_messages" for name, _, _ in samples):
        return None
    return metric_sum(samples, "cc_consumer_lag_messages")


def assigned_counts(worker: WorkerProcess) -> list[int]:
    """Every "assigned N partitions" the worker logged, in order."""
    return [int(n) for n in re.findall(r"assigned (\d+) partitions", worker.log_text())]


def health(worker: WorkerProcess) -> dict[str, Any] | None:
    url = f"http://127.0.0.1:{worker.port}/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return dict(json.loads(response.read()))
    except OSError:
        return None


def finals_of(records: list[tuple[bytes | None, Any]]) -> dict[str, list[dict[str, Any]]]:
    finals: dict[str, list[dict[str, Any]]] = {}
    for key, record in records:
        if key is not None and isinstance(record, dict) and record.get("final"):
            finals.setdefault(key.decode(), []).append(record)
    return finals


def wait_for_finals(
    bootstrap: str, topic: str, expected: OracleResult, timeout: float
) -> dict[str, list[dict[str, Any]]]:
    def all_finals() -> dict[str, list[dict[str, Any]]] | None:
        finals = finals_of(asyncio.run(read_topic(bootstrap, topic)))
        return finals if set(expected.finals) <= set(finals) else None

    try:
        result: dict[str, list[dict[str, Any]]] = wait_until(
            all_finals, timeout, "every final aggregate", interval=3
        )
    except AssertionError:
        finals = finals_of(asyncio.run(read_topic(bootstrap, topic)))
        missing = sorted(set(expected.finals) - set(finals))
        raise AssertionError(
            f"{len(missing)} of {len(expected.finals)} finals never published, e.g. {missing[:5]}"
        ) from None
    return result


def compare_finals(
    finals: dict[str, list[dict[str, Any]]], expected: OracleResult
) -> dict[str, int]:
    """Assert every final equals the oracle; return the keys published more than once.

    A key published twice is tolerated only when both records are identical (bar
    ``updated_at``): a publisher killed between its final records and its marker
    republishes the same window from the same merged state.
    """
    extra = sorted(set(finals) - set(expected.finals))
    assert not extra, f"{len(extra)} finals the oracle does not have, e.g. {extra[:5]}"
    repeated: dict[str, int] = {}
    differing = []
    for key, records in finals.items():
        if len(records) > 1:
            repeated[key] = len(records)
            first = {k: v for k, v in records[0].items() if k not in IGNORED_FIELDS}
            for other in records[1:]:
                if {k: v for k, v in other.items() if k not in IGNORED_FIELDS} != first:
                    differing.append((key, records[0], other))
    assert not differing, f"{len(differing)} keys have differing finals, e.g. {differing[:3]}"
    problems = diff_finals(expected.finals, {key: records[0] for key, records in finals.items()})
    assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])
    return repeated


def late_letter_report(bootstrap: str, prefix: str, expected: OracleResult) -> dict[str, Any]:
    """Which late messages the oracle names are missing from the dead-letter topic, and
    how many dead letters were written more than once (at-least-once is the design)."""
    letters = asyncio.run(read_topic(bootstrap, prefix + "cc.deadletter"))
    seen: dict[tuple[str, int, int], int] = {}
    for _, record in letters:
        where = (record["topic"], record["partition"], record["offset"])
        seen[where] = seen.get(where, 0) + 1
    late = [d for d in expected.dead_letters if d.reason == "late"]
    missing = [
        (d.topic, d.partition, d.position)
        for d in late
        if (prefix + d.topic, d.partition, d.position) not in seen
    ]
    return {
        "late": len(late),
        "missing": missing,
        "repeated": sum(n - 1 for n in seen.values()),
    }


def start_worker(
    bootstrap: str, prefix: str, tmp_path: Path, config: Path, **env: str
) -> WorkerProcess:
    extra = {"CCKPI_GRACE_SECONDS": str(GRACE), **env}
    return WorkerProcess(bootstrap, prefix, tmp_path, config=config, extra_env=extra).start()


def kill_when(worker: WorkerProcess, threshold: float, timeout: float) -> tuple[float, float]:
    """SIGKILL ``worker`` once it has classified ``threshold`` messages.

    Returns what it had classified and its consumer lag, read just before the kill.
    """
    deadline = time.monotonic() + timeout
    seen = behind = 0.0
    while time.monotonic() < deadline:
        samples = worker.samples()
        seen = sum(metric_sum(samples, name) for name in COUNTERS)
        behind = metric_sum(samples, "cc_consumer_lag_messages")
        if seen >= threshold:
            break
        time.sleep(0.05)
    worker.stop(kill=True)
    return seen, behind


def interleaved(messages: Sequence[Message]) -> list[Message]:
    """The same per-partition order, partitions interleaved evenly (hard_stream groups
    them), so event time advances everywhere at once and windows close all along."""
    groups: dict[tuple[str, int], list[Message]] = {}
    for m in messages:
        groups.setdefault((m.topic, m.partition), []).append(m)
    ranked = [
        ((i + 0.5) / len(group), n, m)
        for n, group in enumerate(groups.values())
        for i, m in enumerate(group)
    ]
    ranked.sort(key=lambda item: (item[0], item[1]))
    return [m for _, _, m in ranked]


# ------------------------------------------------------------------ 1. crash exactness

CRASH_EVENTS = 200_000
KILLS = 5
# On Kafka (the second run of the suite) half the events and three kills prove the
# same property in about half the time (the whole suite must stay under 30 minutes).
KAFKA_CRASH = {"events": 100_000, "kills": 3, "chunks": 30}


@pytest.mark.timeout(420)
def test_sigkill_at_random_points_keeps_every_final_exact(
    any_broker: EmbeddedBroker | LocalKafka, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    """200,000 hard-stream events (reordered, repeated, late) fed over about 2.5 minutes;
    the worker is SIGKILLed at least five times at random counts while it consumes,
    restarted each time with the same app id; every final equals the oracle."""
    config = repo_root / "deploy" / "cckpi.yaml"
    on_kafka = isinstance(any_broker, LocalKafka)
    events, kills_wanted, chunks = (
        (KAFKA_CRASH["events"], KAFKA_CRASH["kills"], KAFKA_CRASH["chunks"])
        if on_kafka
        else (CRASH_EVENTS, KILLS, 60)
    )
    messages = hard_stream(
        datetime(2026, 10, 30, 0, tzinfo=UTC), count=events, rate=0.4, seed=23, grace=GRACE
    )
    messages = interleaved(messages)
    oracle = Oracle(messages, config)
    rng = random.Random(2026)
    bootstrap = any_broker.bootstrap_servers
    # Small batches: a catch-up after a restart takes many batches, so kills land
    # between and inside them, and while finals are being published.
    # Snapshots every ~256 KB of partials, so restarts load them (and replay the rest).
    env = {"CCKPI_BATCH_MAX_RECORDS": "2000", "CCKPI_SNAPSHOT_MIN_BYTES": "262144"}
    worker = start_worker(bootstrap, prefix, tmp_path, config, **env)
    workers = [worker]
    # (classified by the killed worker, its lag, messages sent so far, feed still running)
    kills: list[tuple[float, float, int, bool]] = []
    try:
        wait_until(lambda: assigned_counts(worker), 90, "the first assignment")
        # A restart takes about 25 s here (two group joins, one waiting for the dead
        # member to expire), so the feed lasts about 2.5 minutes.
        feeder = Feeder(bootstrap, prefix, messages, chunks=chunks, pause=2.0)
        while len(kills) < kills_wanted:
            seen, behind = kill_when(worker, rng.randint(1_000, 25_000), 90)
            kills.append((seen, behind, feeder.sent, feeder.running))
            assert seen > 0 and (feeder.running or behind > 0), (
                f"kill {len(kills)} did not come during consumption: {kills}"
            )
            worker = start_worker(bootstrap, prefix, tmp_path, config, **env)
            workers.append(worker)
        feeder.join(300)
        expected = oracle.result()
        assert expected.late > 0 and expected.duplicate > 0
        assert expected.sent == len(messages)
        last = worker
        wait_until(
            lambda: assigned_counts(last) and lag(last) == 0, 180, "the last worker to catch up"
        )
        finals = wait_for_finals(bootstrap, prefix + "cc.kpi.aggregates", expected, 180)
        repeated = compare_finals(finals, expected)
        letters = late_letter_report(bootstrap, prefix, expected)
        print(
            f"\n{len(messages)} messages, {len(kills)} kills (classified, lag, sent, feeding): "
            f"{kills}\n{len(expected.finals)} finals exact; {len(repeated)} keys published "
            f"final more than once (identical); late dead letters: {letters['late']} expected, "
            f"{len(letters['missing'])} missing {letters['missing'][:10]} (see "
            f"test_partial_is_written_only_after_its_dead_letters_are_acknowledged), "
            f"{letters['repeated']} dead letters repeated"
        )
        kinds = {key.split("|")[0] for key in expected.finals}
        assert {"first_reply_seconds", "next_reply_seconds"} <= kinds
        loaded = sum("loaded the snapshot" in w.log_text() for w in workers[1:])
        assert loaded >= kills_wanted - 2, (
            f"only {loaded} of {kills_wanted} restarts loaded a snapshot"
        )
    finally:
        for w in workers:
            w.stop()


# ------------------------------------------------------------------ 2. scale-out

TAKEOVER_BOUND = 30.0


@pytest.mark.timeout(300)
def test_two_workers_share_partitions_and_the_survivor_takes_over(
    any_broker: EmbeddedBroker | LocalKafka, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    """Two workers with one app id split the 20 input partitions; the publishing one is
    SIGKILLed mid-run; the survivor takes all partitions and publishing over; every
    final equals the oracle."""
    config = repo_root / "deploy" / "cckpi.yaml"
    messages = interleaved(
        hard_stream(
            datetime(2026, 11, 9, 0, tzinfo=UTC), count=60_000, rate=0.3, seed=31, grace=GRACE
        )
    )
    oracle = Oracle(messages, config)
    bootstrap = any_broker.bootstrap_servers
    env = {"CCKPI_BATCH_MAX_RECORDS": "2000"}
    first = start_worker(bootstrap, prefix, tmp_path, config, **env)
    second: WorkerProcess | None = None
    try:
        wait_until(lambda: assigned_counts(first), 90, "the first worker's assignment")
        second = start_worker(bootstrap, prefix, tmp_path, config, **env)
        pair = (first, second)

        def split() -> list[int] | None:
            last = [(assigned_counts(w) or [0])[-1] for w in pair]
            return last if sum(last) == 20 and all(0 < n < 20 for n in last) else None

        shares = wait_until(split, 90, "the partitions to be split between the two workers")
        assert all(n < 20 for n in shares), shares
        feeder = Feeder(bootstrap, prefix, messages, chunks=20, pause=1.0)
        wait_until(lambda: all(counted(w) > 0 for w in pair), 90, "both workers counting")
        publisher = wait_until(
            lambda: next((w for w in pair if (health(w) or {}).get("publisher")), None),
            60,
            "a publisher",
        )
        survivor = second if publisher is first else first
        wait_until(lambda: counted(publisher) >= 5_000 or not feeder.running, 60, "progress")
        assert feeder.running, "the feed ended before the kill"
        publisher.stop(kill=True)
        killed_at = time.monotonic()
        wait_until(
            lambda: (assigned_counts(survivor) or [0])[-1] == 20,
            90,
            "the survivor to take every partition",
            interval=0.2,
        )
        takeover = time.monotonic() - killed_at
        if isinstance(any_broker, LocalKafka):
            # Kafka expires the killed member after its session timeout (6 s), then
            # rebalances (rebalance timeout 10 s): a real failover, not a fixed wait.
            assert takeover < TAKEOVER_BOUND, f"takeover took {takeover:.1f} s"
        wait_until(
            lambda: (health(survivor) or {}).get("publisher") is True, 60, "survivor publishing"
        )
        feeder.join(120)
        expected = oracle.result()
        wait_until(lambda: lag(survivor) == 0, 120, "the survivor to catch up")
        finals = wait_for_finals(bootstrap, prefix + "cc.kpi.aggregates", expected, 120)
        repeated = compare_finals(finals, expected)
        print(
            f"shares {shares}; takeover {takeover:.1f} s; {len(expected.finals)} finals exact; "
            f"{len(repeated)} keys final more than once (identical)"
        )
        assert survivor.process is not None and survivor.process.poll() is None
    finally:
        first.stop()
        if second is not None:
            second.stop()


# ------------------------------------------------------------------ 3. broker outage

OFFER = {
    "type": "contact.offered",
    "team": "support",
    "channel": "voice",
    "queue": "billing",
}


def offers(
    prefix: str, start: datetime, count: int, tag: str
) -> list[tuple[str, bytes, bytes, int]]:
    out = []
    for i in range(count):
        at = datetime.fromtimestamp(start.timestamp() + i, UTC).isoformat()
        event = {**OFFER, "event_id": f"{tag}-{i}", "contact_id": f"{tag}-c{i}", "occurred_at": at}
        out.append((prefix + "cc.contacts", f"{tag}-c{i}".encode(), orjson.dumps(event), i % 4))
    return out


class WorkerDidNotRecover(AssertionError):
    """The part of a broker-outage test that shows a reported engine bug."""


def test_worker_started_before_the_broker_waits_and_connects(prefix: str, tmp_path: Path) -> None:
    """The worker starts with no broker listening; the broker comes up 10 s later on that
    port; the worker should wait, connect, declare its topics and count events."""
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    worker = WorkerProcess(bootstrap, prefix, tmp_path).start()
    broker: EmbeddedBroker | None = None
    try:
        time.sleep(10)
        if worker.process is None or worker.process.poll() is not None:
            raise WorkerDidNotRecover(
                "the worker exited while the broker was down:\n" + worker.log_text()[-2000:]
            )
        broker = EmbeddedBroker(port, log=tmp_path / "late-broker.log").start()
        wait_until(lambda: assigned_counts(worker), 120, "the worker's assignment")
        batch = offers(prefix, datetime(2026, 11, 2, 9, tzinfo=UTC), 500, "late-broker")
        asyncio.run(produce(bootstrap, batch))
        wait_until(
            lambda: metric_sum(worker.samples(), "cc_events_total") == 500, 90, "500 events counted"
        )
        assert worker.process is not None and worker.process.poll() is None
    finally:
        worker.stop()
        if broker is not None:
            broker.stop()


OUTAGE_SECONDS = 30


@pytest.mark.timeout(300)
def test_worker_survives_a_30_s_broker_outage_and_counts_new_events(
    prefix: str, tmp_path: Path
) -> None:
    """The broker is stopped for 30 s mid-run and restarted on the same port.

    Tansu keeps everything in memory: the restarted broker has no topics, no
    messages, no committed offsets and no consumer groups, so the events from
    before the outage and their aggregates are gone with it. What can be tested:
    the worker process survives the outage, keeps answering /metrics, reconnects,
    rejoins its groups, re-creates the topics it needs (nobody else declares them),
    notices that the partials log it had merged is not the one it finds (a barrier it
    appends lands below what it had read), counts the events produced after the
    restart from offset 0 of the new logs, and merges them onto the aggregates it
    still holds in memory (those of before the outage exist nowhere else now).
    """
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    broker = EmbeddedBroker(port, log=tmp_path / "broker-1.log").start()
    worker = WorkerProcess(bootstrap, prefix, tmp_path).start()
    try:
        wait_until(lambda: assigned_counts(worker), 90, "the worker's assignment")
        before = offers(prefix, datetime(2026, 11, 2, 9, tzinfo=UTC), 400, "a")
        asyncio.run(produce(bootstrap, before))
        wait_until(
            lambda: metric_sum(worker.samples(), "cc_events_total") == 400, 90, "400 events counted"
        )
        joins = worker.log_text().count("Setting newly assigned partitions")
        broker.stop()
        down_since = time.monotonic()
        while time.monotonic() - down_since < OUTAGE_SECONDS:
            assert worker.process is not None and worker.process.poll() is None, (
                "the worker exited during the outage:\n" + worker.log_text()[-3000:]
            )
            assert worker.samples(), "/metrics stopped answering during the outage"
            time.sleep(2)
        broker = EmbeddedBroker(port, log=tmp_path / "broker-2.log").start()
        wait_until(
            lambda: worker.log_text().count("Setting newly assigned partitions") > joins,
            90,
            "the worker to rejoin its groups on the new broker",
        )
        after = offers(prefix, datetime(2026, 11, 2, 10, tzinfo=UTC), 300, "b")
        asyncio.run(produce(bootstrap, after))
        try:
            wait_until(
                lambda: metric_sum(worker.samples(), "cc_events_total") >= 700,
                30,
                "the 300 events sent after the restart to be counted",
            )
        except AssertionError as exc:
            raise WorkerDidNotRecover(f"{exc}; assigned lines: {assigned_counts(worker)}") from None
        assert metric_sum(worker.samples(), "cc_events_total") == 700

        # The merged state kept the 400 from before the wipe and added the 300 after it.
        def offered() -> list[tuple[str, float]]:
            return sorted(
                (lab["period"] + "/" + lab["window"], value)
                for name, lab, value in worker.samples()
                if name == "cc_contacts_offered" and lab.get("queue") == "billing"
            )

        wait_until(
            lambda: ("day/current", 700.0) in offered(),
            30,
            "the day's offers of the billing queue to add up to 700",
        )
        assert worker.process is not None and worker.process.poll() is None
        assert worker.samples(), "/metrics stopped answering"
    finally:
        worker.stop()
        broker.stop()


# ------------------------------------------------------------------ dead letters vs partials


class _Record:
    def __init__(self, offset: int, value: bytes) -> None:
        self.offset = offset
        self.value = value


class _RecordingProducer:
    """Acknowledges every send on the next loop iteration; records, when a partial is
    sent, how many dead letters were still unacknowledged."""

    def __init__(self) -> None:
        self.pending_letters: list[asyncio.Future[SimpleNamespace]] = []
        self.unacked_at_partial: list[int] = []

    async def send(
        self, topic: str, value: bytes, key: bytes | None = None, partition: int | None = None
    ) -> asyncio.Future[SimpleNamespace]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[SimpleNamespace] = loop.create_future()
        loop.call_soon(future.set_result, SimpleNamespace(offset=len(self.unacked_at_partial)))
        if topic.endswith("cc.deadletter"):
            self.pending_letters.append(future)
        elif topic.endswith("cc.internal.partials"):
            self.unacked_at_partial.append(sum(not f.done() for f in self.pending_letters))
        return future


def test_partial_is_written_only_after_its_dead_letters_are_acknowledged() -> None:
    """The partial of a batch moves the partition's resume point past the batch, so it
    may only be sent once the batch's dead letters are acknowledged (at least once)."""
    from aiokafka import TopicPartition

    from streams.pipeline.ingest import IngestService, source_id
    from streams.pipeline.runtime import Runtime
    from streams.settings import load_settings

    runtime = Runtime(load_settings(topic_prefix="unit."))
    producer = _RecordingProducer()
    service = IngestService(runtime, producer)  # type: ignore[arg-type]
    tp = TopicPartition("unit.cc.contacts", 0)
    service.states[tp] = runtime.source_state(source_id(tp))
    good = orjson.dumps(
        {**OFFER, "event_id": "e1", "contact_id": "c1", "occurred_at": "2026-11-02T09:00:00+00:00"}
    )
    batch = {tp: [_Record(0, b"{not json"), _Record(1, good), _Record(2, b"\xff")]}
    asyncio.run(service._process(batch))  # noqa: SLF001
    assert producer.pending_letters, "the batch should have dead letters"
    assert producer.unacked_at_partial == [0], (
        f"dead letters unacknowledged when the partial was sent: {producer.unacked_at_partial}"
    )
