"""The ingest loop: a group-managed aiokafka consumer that folds batches (stage one).

Faust's per-event stream path tops out near 15k events/s here (DESIGN.md), so
the input topics are read by this consumer inside the Faust app, in batches.
Each batch of each source partition is written as ONE record on the partials
topic holding the folded cells, the watermark, the new event ids, the reply
memory changes and the next offset: state and offset are written atomically,
so a restart resumes exactly, without transactions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import CommitFailedError, KafkaError

from streams.kpi.ingest import BatchResult, PartitionState
from streams.pipeline.runtime import Runtime
from streams.topics import DEADLETTER, PARTIALS, declare_topics

log = logging.getLogger(__name__)
BARRIER_KEY = b"barrier"
T = TypeVar("T")
COMMIT_WAIT_SECONDS = 5.0
"""How long a stopping ingest waits for its last offset commit."""


def source_id(tp: TopicPartition) -> str:
    return f"{tp.topic}:{tp.partition}"


def encode_partial(state: PartitionState, result: BatchResult) -> bytes:
    """Header (what the merger needs) and checkpoint (what a restart needs), one record.

    The header names the input offsets the batch covers (``input``), so the merger can
    tell a resent copy from a new batch.
    """
    header: dict[str, Any] = {
        "watermark": None if state.watermark == float("-inf") else state.watermark,
        "hours": [[*key, cell.tolist()] for key, cell in result.cells.items()],
        "certs": result.certifications,
    }
    if result.shifts:
        header["shifts"] = result.shifts
    if state.next_offset is not None:
        header["input"] = [result.first_offset, state.next_offset]
    return orjson.dumps(header) + b"\n" + orjson.dumps(state.checkpoint(result))


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, service: IngestService) -> None:
        self._service = service

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._service.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._service.assigned(assigned)


class IngestService:
    """Consumes the input topics, folds, and writes partials and dead letters."""

    def __init__(self, runtime: Runtime, producer: AIOKafkaProducer) -> None:
        self.rt = runtime
        self.producer = producer
        self.states: dict[TopicPartition, PartitionState] = {}
        self.consumer: AIOKafkaConsumer | None = None
        self._lock = asyncio.Lock()
        settings = runtime.settings
        self._topic_base = runtime.base_topics
        self._publisher_tp = TopicPartition(settings.topic(settings.input_topics[0]), 0)
        self.ready = asyncio.Event()
        self._watermark = float("-inf")
        self.behind = 0
        """Messages of the owned partitions not folded yet (as of the last fetch)."""
        self._stopping = asyncio.Event()
        self._commit: asyncio.Future[None] | None = None
        self._included: dict[TopicPartition, int] = {}
        """Offset of the last partial each owned state includes (for handing it back)."""

    async def run(self) -> None:
        settings = self.rt.settings
        consumer = AIOKafkaConsumer(
            **settings.kafka_kwargs(),
            group_id=f"{settings.app_id}-ingest",
            group_instance_id=settings.group_instance_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=settings.batch_max_records,
            fetch_max_bytes=64 * 1024 * 1024,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_wait_ms=100,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
            rebalance_timeout_ms=10000,
        )
        consumer.subscribe(list(self._topic_base), listener=_Rebalance(self))
        self.consumer = consumer
        try:
            await consumer.start()  # inside: a stop during start still closes it
            while True:
                batches = await consumer.getmany(timeout_ms=200)
                if batches:
                    async with self._lock:
                        await self._process(batches)
                self._update_lag(consumer)
        finally:
            # The consumer's stop waits for a rebalance listener still running:
            # let an assignment in progress give up first.
            self._stopping.set()
            if self._commit is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._commit, COMMIT_WAIT_SECONDS)
            with contextlib.suppress(Exception):
                await consumer.stop()

    async def _process(self, batches: dict[TopicPartition, list[Any]]) -> None:
        """Fold, then write dead letters, and only once they are acknowledged the partials
        (which move the resume offset past them): a crash in between repeats dead letters
        rather than losing them."""
        letters = []
        partials = []
        results = []
        deadletter = self.rt.settings.topic(DEADLETTER)
        for tp, messages in batches.items():
            state = self.states.get(tp)
            if state is None:
                continue
            with self.rt.stages.timed("fold"):
                result = state.fold((m.offset, m.value) for m in messages)
            for offset, raw, letter in result.dead_letters:
                record = orjson.dumps(letter.record(tp.topic, tp.partition, offset, raw))
                letters.append(await self.producer.send(deadletter, record))
            with self.rt.stages.timed("partials"):
                partials.append((source_id(tp).encode(), encode_partial(state, result)))
            results.append((tp, state, result, len(messages)))
        await asyncio.gather(*letters)
        topic = self.rt.settings.topic(PARTIALS)
        written = await asyncio.gather(
            *[
                await self.producer.send(topic, value, key=key, partition=0)
                for key, value in partials
            ]
        )
        for (tp, _, _, _), sent in zip(results, written, strict=True):
            self._included[tp] = sent.offset
        self._count(results)
        offsets = {tp: state.next_offset for tp, state, _, _ in results if state.next_offset}
        if offsets and self.consumer is not None:
            # aiokafka shields the commit request: a stop arriving meanwhile must let it
            # finish before the consumer closes its connection (or it fails unheard).
            self._commit = asyncio.ensure_future(self.consumer.commit(offsets))
            with contextlib.suppress(CommitFailedError, KafkaError):
                await asyncio.shield(self._commit)

    def _count(
        self,
        results: list[tuple[TopicPartition, PartitionState, BatchResult, int]],
    ) -> None:
        metrics = self.rt.metrics
        for tp, state, result, size in results:
            topic = self._topic_base[tp.topic]
            for event_type, count in result.accepted.items():
                metrics.events.labels(topic, event_type).inc(count)
            for _offset, _raw, letter in result.dead_letters:
                metrics.deadletter.labels(topic, letter.reason).inc()
                if letter.reason != "late":
                    metrics.invalid.labels(topic, letter.reason).inc()
            if result.duplicates:
                metrics.duplicate.labels(topic).inc(result.duplicates)
            if result.late:
                metrics.late.labels(topic).inc(result.late)
            for (team, queue), waits in result.waits.items():
                histogram = metrics.queue_wait.labels(team, queue)  # once per queue, not per wait
                for wait in waits:
                    histogram.observe(wait)
            metrics.batch_events.observe(size)
            if state.watermark > self._watermark:
                self._watermark = state.watermark
                metrics.watermark.set(state.watermark)
        metrics.last_batch.set(time.time())

    def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = dict.fromkeys(self._topic_base, 0)
        for tp in consumer.assignment():
            end = consumer.highwater(tp)
            state = self.states.get(tp)
            if end is not None and state is not None:
                lag[tp.topic] += max(0, end - (state.next_offset or 0))
        for topic, behind in lag.items():
            self.rt.metrics.lag.labels(self._topic_base[topic]).set(behind)
        self.behind = sum(lag.values())

    async def revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            for tp in revoked:
                state = self.states.pop(tp, None)
                if state is not None:
                    self.rt.checkpoints.release(source_id(tp), state, self._included.pop(tp, -1))
            self.rt.publisher = self._publisher_tp in self.states

    async def assigned(self, assigned: set[TopicPartition]) -> None:
        async with self._lock:
            fresh = {tp for tp in assigned if tp not in self.states}
            started = time.monotonic()
            barrier = -1
            if fresh:
                # A stop must not wait for the merger (it stops too) or a broker gone.
                written = await self._unless_stopping(self._barrier())
                if written is None:
                    log.info("stopping: %d partitions assigned, not restored", len(fresh))
                    return
                barrier = written
            assert self.consumer is not None  # noqa: S101 - set before subscribing
            restored = 0
            for tp in fresh:
                state = self.rt.checkpoints.take(source_id(tp))
                self.states[tp] = state
                self._included[tp] = barrier
                if state.next_offset is not None:
                    restored += 1
                    self.consumer.seek(tp, state.next_offset)
            self.rt.publisher = self._publisher_tp in self.states
            log.info(
                "assigned %d partitions (%d restored) in %.2f s",
                len(fresh),
                restored,
                time.monotonic() - started,
            )
            self.ready.set()

    async def _barrier(self) -> int:
        """Write a barrier; once the merger has read past it, everything written before
        it is in the checkpoints (the merger reads the partials topic from the start)."""
        # A broker restarted empty (memory storage) has lost the internal topics too;
        # the barrier goes to one of them.
        await declare_topics(self.rt.settings)
        barrier = await write_barrier(self.rt, self.producer)
        await self.rt.checkpoints.wait_read(barrier)
        return barrier

    async def _unless_stopping(self, work: Coroutine[Any, Any, T]) -> T | None:
        """``work``'s result, or None if this service stops first (``work`` cancelled)."""
        task = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if task.done():
            return task.result()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
        return None

    @property
    def lock(self) -> asyncio.Lock:
        """Held while a batch is folded and written, and while partitions move."""
        return self._lock

    def owned(self) -> dict[str, tuple[PartitionState, int]]:
        """The live states of the owned partitions, each with the offset of the last
        partial it includes (consistent only while :attr:`lock` is held)."""
        return {source_id(tp): (s, self._included.get(tp, -1)) for tp, s in self.states.items()}


async def write_barrier(runtime: Runtime, producer: AIOKafkaProducer) -> int:
    """Append a barrier record to the partials topic; return its offset.

    Reading up to it is reading everything written before now. (Tansu's
    ListOffsets answers the last batch's base offset + 1, not the log end, so
    ``end_offsets`` cannot be trusted for this.)
    """
    topic = runtime.settings.topic(PARTIALS)
    read_before = runtime.checkpoints.read
    sent = await producer.send_and_wait(topic, b"{}", key=BARRIER_KEY, partition=0)
    offset = int(sent.offset)
    if offset < read_before:
        # Appended after everything the merger had read, yet below it: not the same log.
        log.warning(
            "the partials log restarted (barrier at offset %d, %d already merged): the broker "
            "lost its data; merging the new log from its start",
            offset,
            read_before,
        )
        runtime.checkpoints.log_restarted()
    return offset
