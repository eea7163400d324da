"""History into a running deployment: fold the windows it has closed, with its own engine.

A live worker dead-letters an event whose hour window it has closed (``late``).
Importing last month into a running deployment would do exactly that, so the
importer splits events at the live deployment's watermark (:func:`live_watermark`,
read back from the worker's own partials): events of hours still open go to
the input topics as usual; events of closed hours are folded here, in-process,
by the worker's own stage one (:class:`PartitionState`) and merger
(:class:`Merger`), and the final records of every window the live deployment
has closed are published on ``cc.kpi.aggregates`` in the contract's format,
where the history readers find them. Nothing here computes a KPI: it drives the
engine the worker runs.

What it cannot do, and says: a window still open in the live deployment (this
day, week or month) cannot take events of its closed hours, so those events
count in their closed windows only (:attr:`HistoryFold.open_windows`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.config import AppConfig
from streams.kpi.catalogue import PERIODS
from streams.kpi.merge import NEG_INF, Merger, Window
from streams.kpi.windows import HOUR
from streams.output.records import aggregate_record, updated_at
from streams.pipeline.batching import IN_FLIGHT_BYTES, PartitionBatches
from streams.pipeline.runtime import Runtime
from streams.settings import Settings
from streams.sources.sink import Checked
from streams.topics import AGGREGATES, PARTIALS

log = logging.getLogger(__name__)
SOURCE = "history"
FOLD_BATCH = 20_000
TAIL_RECORDS = 2_000
"""Partials read back from the end to find the live watermark."""
_SKIPPED_KEYS = (b"barrier", b"merger", b"snapshot")


async def live_watermark(settings: Settings, idle: float = 1.0) -> float | None:
    """The largest event time the live deployment has folded (from the last partials its
    workers wrote), or None when it has folded nothing yet. The topics must exist.

    The end of the partials topic may hold only snapshots, barriers and markers (an
    idle deployment after a snapshot): then it reads further back, ten times as far
    each time, down to the start."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_kwargs(),
        enable_auto_commit=False,
        max_partition_fetch_bytes=16 * 1024 * 1024,
    )
    await consumer.start()
    try:
        tp = TopicPartition(settings.topic(PARTIALS), 0)
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        back = TAIL_RECORDS
        while True:
            start = max(0, end - back)
            found = await _largest_watermark(consumer, tp, start, end, idle)
            if found is not None or start == 0:
                return found
            back *= 10
    finally:
        await consumer.stop()


async def _largest_watermark(
    consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int, idle: float
) -> float | None:
    found: float | None = None
    consumer.seek(tp, start)
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    while loop.time() - quiet_since < idle:
        batch = await consumer.getmany(tp, timeout_ms=200, max_records=5000)
        messages = batch.get(tp, [])
        for message in messages:
            quiet_since = loop.time()
            value = message.value
            if value and message.key not in _SKIPPED_KEYS and b"\n" in value:
                watermark = orjson.loads(value[: value.index(b"\n")]).get("watermark")
                if isinstance(watermark, int | float) and (found is None or watermark > found):
                    found = float(watermark)
        if messages and messages[-1].offset + 1 >= end:
            # Past the end seen at the start, the whole last batch read (Tansu's end is
            # that batch's first offset + 1); a busy deployment is never quiet for long.
            return found
    return found


class HistoryFold:
    """Events of windows a live deployment has closed, folded by the worker's engine."""

    def __init__(
        self, settings: Settings, config: AppConfig, cutoff: float, batch: int = FOLD_BATCH
    ) -> None:
        self.settings = settings
        self.cutoff = cutoff
        """The live watermark: a window whose end + grace is at or before it is closed."""
        runtime = Runtime(settings, config)
        self.clock = runtime.clock
        self._state = runtime.source_state(f"{settings.topic('cc.contacts')}:0")
        self.merger = Merger(runtime.clock, settings.grace_seconds, [SOURCE])
        self._pending: list[bytes] = []
        self._batch = batch
        self._offset = 0
        self.folded = 0
        self.duplicates = 0
        self.late = 0
        self.open_windows: list[Window] = []
        """Windows the history touched that are still open in the live deployment."""
        self.windows = 0
        """Windows whose final records were published."""
        self.records = 0
        """Final records published."""
        self._may_be_due = False

    def closed(self, occurred_at: float) -> bool:
        """True when the live deployment has closed the hour window of this instant."""
        hour = self.clock.starts(occurred_at)[HOUR]
        return self.clock.end(HOUR, hour) + self.settings.grace_seconds <= self.cutoff

    @property
    def pending(self) -> int:
        return len(self._pending)

    def add(self, event: Checked) -> None:
        self._pending.append(event.value)
        if len(self._pending) >= self._batch:
            self._fold()

    def _fold(self) -> None:
        if not self._pending:
            return
        start = self._offset
        result = self._state.fold(enumerate(self._pending, start))
        self._offset += len(self._pending)
        self._pending = []
        self.folded += sum(result.accepted.values())
        self.duplicates += result.duplicates
        self.late += result.late
        hours = [[*key, cell] for key, cell in result.cells.items()]
        watermark = self._state.watermark
        header = {"watermark": None if watermark == NEG_INF else watermark, "hours": hours}
        self.merger.apply(SOURCE, {**header, "certs": []})
        self._may_be_due = True

    def due_records(self) -> list[tuple[bytes, bytes]]:
        """Final records of the windows the files read so far have closed (the files are
        read in time order; the history's own watermark never passes the deployment's),
        each marked final so the merger drops its state: a year of history never
        holds more than its open windows."""
        self._may_be_due = False
        now = updated_at(datetime.now(UTC))
        out: list[tuple[bytes, bytes]] = []
        for window in self.merger.due_finals():
            period, start = window
            start_iso = self.clock.iso(start)
            end_iso = self.clock.iso(self.clock.end(period, start))
            name = PERIODS[period]
            for value in self.merger.values(window):
                key, record = aggregate_record(value, name, start_iso, end_iso, True, now)
                out.append((key.encode(), orjson.dumps(record)))
            self.merger.mark_final(window)
            self.windows += 1
        return out

    async def publish_due(self, producer: AIOKafkaProducer) -> int:
        """Publish the final records of the windows closed so far; their count once
        acknowledged (nothing to do unless a fold happened since the last call)."""
        if not self._may_be_due:
            return 0
        records = self.due_records()
        if records:
            batches = await PartitionBatches.of(producer, self.settings.topic(AGGREGATES))
            for key, value in records:
                batches.add(key, value)
                if batches.records >= 5000 or batches.bytes >= IN_FLIGHT_BYTES:
                    await batches.flush()
            await batches.flush()
        self.records += len(records)
        return len(records)

    def close_all(self) -> None:
        """Every file read: fold what is pending and close every window the deployment
        has closed (their records are then due)."""
        self._fold()
        self.merger.apply(SOURCE, {"watermark": self.cutoff, "certs": []})
        self._may_be_due = True

    async def publish(self, producer: AIOKafkaProducer) -> int:
        """Every file read: fold what is pending and publish the final records of every
        window the deployment has closed. Windows still open there go to
        :attr:`open_windows`. The count of records published in all."""
        self.close_all()
        await self.publish_due(producer)
        finalized = self.merger.finalized
        self.open_windows = sorted(w for w in self.merger.windows if w not in finalized)
        return self.records

    def describe_open(self) -> str:
        """The windows left open, for the summary."""
        return ", ".join(f"{PERIODS[p]} {self.clock.iso(s)}" for p, s in self.open_windows)
