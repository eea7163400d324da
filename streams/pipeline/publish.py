"""Stage two wiring: read every partial back, merge, and publish from the merged state.

Every worker merges the whole partials topic (one partition, read from the
start), so any worker can take over publishing at once. Only the worker that
owns partition 0 of ``cc.contacts`` publishes aggregates and breaches and
exports the KPI gauges. Before a window's final records are published a
marker goes on the partials topic, so a restarted or new publisher does not
publish them again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import Counter
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.kpi.catalogue import PERIODS
from streams.kpi.merge import Window
from streams.output.records import aggregate_record, breach_record, updated_at
from streams.pipeline import snapshots
from streams.pipeline.batching import IN_FLIGHT_BYTES, PartitionBatches
from streams.pipeline.ingest import BARRIER_KEY, IngestService, write_barrier
from streams.pipeline.runtime import Runtime
from streams.targets.evaluate import TargetState
from streams.targets.states import STATES
from streams.topics import AGGREGATES, BREACHES, PARTIALS

log = logging.getLogger(__name__)
transitions_log = logging.getLogger("cckpi.targets")
MARKER_KEY = b"merger"
SNAPSHOT_KEY = snapshots.SNAPSHOT_KEY
SNAPSHOT_READ_SECONDS = 60.0
IN_FLIGHT = 5000
"""Aggregate records sent before waiting for their acknowledgements."""
CATCH_UP_INTERVAL = 5.0
"""Seconds between publishes while more than a batch of input waits."""


class PublishService:
    """Consumes partials into the merger; publishes open updates, finals and breaches."""

    def __init__(self, runtime: Runtime, producer: AIOKafkaProducer, ingest: IngestService) -> None:
        self.rt = runtime
        self.producer = producer
        self.ingest = ingest
        self.caught_up = asyncio.Event()
        self._since_snapshot = 0
        """Bytes of partials merged since the last snapshot was written or loaded."""
        self._snapshot_size = 0
        self._summarised = float("-inf")
        """When the last summary line was logged (the first comes with the first states)."""
        self._verdicts_since: list[TargetState] = []

    async def run(self) -> None:
        settings = self.rt.settings
        tp = TopicPartition(settings.topic(PARTIALS), 0)
        consumer = AIOKafkaConsumer(
            **settings.kafka_kwargs(),
            group_id=f"{settings.app_id}-merger",  # holds the snapshot offset, nothing else
            enable_auto_commit=False,
            fetch_max_wait_ms=50,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=16 * 1024 * 1024,
            fetch_max_bytes=64 * 1024 * 1024,
        )
        publisher: asyncio.Task[None] | None = None
        try:
            await consumer.start()  # inside: a stop during start still closes it
            publisher = asyncio.create_task(self._publish_loop())
            consumer.assign([tp])
            book = self.rt.checkpoints
            start = await self._load_snapshot(consumer, tp)
            consumer.seek(tp, start)
            book.advance(start)
            barrier = await write_barrier(self.rt, self.producer)
            merger = self.rt.merger
            while True:
                batch = await consumer.getmany(tp, timeout_ms=200, max_records=2000)
                if book.restart_pending:
                    book.restart_pending = False
                    merger.input_logs_restarted()
                    consumer.seek(tp, 0)
                    continue
                messages = batch.get(tp, [])
                merging = time.thread_time()
                for message in messages:
                    value = message.value
                    if message.offset >= barrier:
                        self.caught_up.set()
                    if value is None or message.key in (None, BARRIER_KEY, SNAPSHOT_KEY):
                        continue
                    if message.key == MARKER_KEY:
                        period, start = orjson.loads(value)["final"]
                        merger.mark_final((period, start))
                    else:
                        split = value.index(b"\n")
                        source = message.key.decode()
                        if merger.apply(source, orjson.loads(value[:split])):
                            book.observe(source, message.offset, value[split + 1 :])
                        else:
                            self._repeated(source, message.offset)
                        self._since_snapshot += len(value)
                self.rt.stages.add("merge", time.thread_time() - merging)
                if messages:
                    self.rt.exposition.changed()
                    book.advance(messages[-1].offset + 1)
                    if self._snapshot_due():
                        await self._write_snapshot(consumer, tp)
        finally:
            if publisher is not None:
                publisher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await publisher
            with contextlib.suppress(Exception):
                await consumer.stop()

    def _repeated(self, source: str, offset: int) -> None:
        self.rt.metrics.partials_repeated.inc()
        log.info(
            "the partial of %s at partials offset %d repeats input already merged "
            "(a resent record): merged once",
            source,
            offset,
        )

    def _snapshot_due(self) -> bool:
        least = self.rt.settings.snapshot_min_bytes
        return (
            least > 0
            and self.rt.publisher
            and self.caught_up.is_set()
            and self._since_snapshot >= max(least, self._snapshot_size)
        )

    async def _write_snapshot(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        """Write the merged state as of the partials read so far, and every resume state.

        Encoding runs without yielding, so the merger and the publishing loop cannot
        change what is encoded; the ingest lock makes the owned states and their
        partial offsets consistent. If ingest holds that lock for long (an assignment
        waits for this very loop), the snapshot is skipped and tried after the next
        batch.
        """
        lock = self.ingest.lock
        try:
            await asyncio.wait_for(lock.acquire(), 1.0)
        except TimeoutError:
            return
        try:
            book = self.rt.checkpoints
            read = book.read
            sources = {**book.entries(), **self.ingest.owned()}
            values = snapshots.encode(uuid.uuid4().hex, read, self.rt.merger, sources)
        finally:
            lock.release()
        size = sum(map(len, values))
        first = None
        topic = self.rt.settings.topic(PARTIALS)
        while values:
            value = values.pop(0)
            sent = await (await self.producer.send(topic, value, key=SNAPSHOT_KEY, partition=0))
            first = sent.offset if first is None else first
        assert first is not None  # noqa: S101 - encode() returns at least one value
        await consumer.commit({tp: first})
        self._snapshot_size, self._since_snapshot = size, 0
        log.info(
            "snapshot: %.1f MB at partials offset %d (merged below %d)",
            size / 2**20,
            first,
            read,
        )

    async def _load_snapshot(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> int:
        """Load the committed snapshot, if any; the partials offset to read on from."""
        committed = await consumer.committed(tp)
        if committed is None:
            return 0
        started = time.monotonic()
        consumer.seek(tp, committed)
        book = self.rt.checkpoints
        loader = snapshots.Loader(self.rt.merger, book, self.rt.source_state)
        done = False
        try:
            while not done and time.monotonic() - started < SNAPSHOT_READ_SECONDS:
                batch = await consumer.getmany(tp, timeout_ms=500, max_records=20)
                for message in batch.get(tp, []):
                    if message.key == SNAPSHOT_KEY and message.value is not None:
                        done = loader.add(message.value)
                        if done:
                            break
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("snapshot at partials offset %d unusable (%r)", committed, exc)
            done = False
        if not done or loader.read is None:
            log.warning("no snapshot loaded from partials offset %d: replaying from 0", committed)
            self.rt.merger.clear()
            book.clear()
            return 0
        self._snapshot_size = loader.bytes
        log.info(
            "loaded the snapshot at partials offset %d (%.1f MB, %d windows) in %.2f s; "
            "reading partials from %d",
            committed,
            loader.bytes / 2**20,
            loader.windows,
            time.monotonic() - started,
            loader.read,
        )
        return loader.read

    async def _publish_loop(self) -> None:
        await self.caught_up.wait()
        interval = self.rt.settings.publish_interval_seconds
        while True:
            published = time.monotonic()
            try:
                await self.publish_once()
                self.rt.exposition.changed()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("publishing failed; retrying")
            await asyncio.sleep(interval)
            # While ingest is catching up (more than a batch waits), publish every
            # CATCH_UP_INTERVAL instead: a replay of a month should not publish every
            # intermediate value of every open window. Back to normal once caught up.
            while (
                self.ingest.behind > self.rt.settings.batch_max_records
                and time.monotonic() - published < CATCH_UP_INTERVAL
            ):
                await asyncio.sleep(interval)

    async def publish_once(self) -> None:
        merger = self.rt.merger
        if not self.rt.publisher:
            merger.take_dirty()
            return
        now = datetime.now(UTC)
        settings = self.rt.settings
        aggregates = settings.topic(AGGREGATES)
        breaches = settings.topic(BREACHES)
        for window in merger.due_finals():
            await self._send_all(aggregates, self._records(window, None, True, now))
            # The verdicts go out before the marker, like the final records: a
            # restarted publisher sees the marker and judges the window no more.
            verdicts = self.rt.book.close(merger, window)
            await self._send_all(breaches, [self._breach(v, now) for v in verdicts])
            self._verdicts_since += verdicts
            marker = orjson.dumps({"final": list(window)})
            await self.producer.send_and_wait(
                settings.topic(PARTIALS), marker, key=MARKER_KEY, partition=0
            )
            merger.mark_final(window)
        for window, scopes in merger.take_dirty().items():
            await self._send_all(aggregates, self._records(window, scopes, False, now))
        changed = [self._breach(state, now) for state in self.rt.book.evaluate(merger)]
        await self._send_all(breaches, changed)
        self._summarise()

    def _summarise(self) -> None:
        """Every ``target_summary_seconds``: one line counting targets per state, and
        the verdicts since the last line (the console's view of the targets)."""
        every = self.rt.settings.target_summary_seconds
        if every <= 0 or time.monotonic() - self._summarised < every:
            return
        line = summary_line(self.rt.book.summary(), self._verdicts_since)
        if line:
            self._summarised = time.monotonic()
            self._verdicts_since = []
            transitions_log.info("%s", line)

    async def _send_all(self, topic: str, records: list[tuple[bytes, bytes]]) -> None:
        """Send keyed records in one batch per partition, each key to the partition
        ``send()`` would pick; waits for acknowledgements every ``IN_FLIGHT`` records
        (or ``IN_FLIGHT_BYTES``) so a big window does not hold all its batches at once.

        One ``send()`` per record was a fifth of the worker's event loop (a future,
        a metadata wait and a partitioner call each); a batch pays them once.
        """
        if not records:
            return
        batches = await PartitionBatches.of(self.producer, topic)
        stages, began = self.rt.stages, time.thread_time()
        for key, value in records:
            batches.add(key, value)
            if batches.records >= IN_FLIGHT or batches.bytes >= IN_FLIGHT_BYTES:
                stages.add("publish", time.thread_time() - began)
                await batches.flush()
                began = time.thread_time()
        stages.add("publish", time.thread_time() - began)
        await batches.flush()

    def _records(
        self,
        window: Window,
        scopes: set[tuple[tuple[str, str], ...]] | None,
        final: bool,
        now: datetime,
    ) -> list[tuple[bytes, bytes]]:
        clock = self.rt.merger.clock
        period, start = window
        start_iso, end_iso = clock.iso(start), clock.iso(clock.end(period, start))
        name, updated = PERIODS[period], updated_at(now)
        out = []
        with self.rt.stages.timed("publish"):
            for value in self.rt.merger.values(window, scopes):
                key, record = aggregate_record(value, name, start_iso, end_iso, final, updated)
                out.append((key.encode(), orjson.dumps(record)))
        return out

    def _breach(self, state: TargetState, now: datetime) -> tuple[bytes, bytes]:
        """Key and value of a transition or verdict record on ``cc.target.breaches``."""
        target = state.target
        clock = self.rt.merger.clock
        start = end = None
        if state.window is not None:
            period, begin = state.window
            start, end = clock.iso(begin), clock.iso(clock.end(period, begin))
        if self.rt.settings.log_target_transitions:
            transitions_log.info(
                "target %s %s%s for %s: value %.4g, target %s %s%s",
                target.id,
                "verdict " if state.final else "",
                state.state,
                dict(state.scope),
                state.value,
                target.op,
                target.value,
                "" if state.expected is None else f", expected {state.expected:.4g}",
            )
        record = breach_record(state, start, end, now.isoformat(timespec="seconds"))
        return target.id.encode(), orjson.dumps(record)


def summary_line(counts: Counter[str], verdicts: list[TargetState]) -> str:
    """``targets: 40 met, 12 on_pace, 3 behind_pace; verdicts: 2 missed (...)``."""
    if not counts and not verdicts:
        return ""
    parts = [f"{counts[state]} {state}" for state in STATES if counts[state]]
    line = "targets: " + (", ".join(parts) or "none in the current windows")
    if verdicts:
        tally = Counter(v.state for v in verdicts)
        missed = sorted({v.target.id for v in verdicts if v.state == "missed"})
        line += "; verdicts: " + ", ".join(f"{n} {s}" for s, n in sorted(tally.items()))
        if missed:
            line += f" (missed: {', '.join(missed)})"
    return line
