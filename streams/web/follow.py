"""Follows the aggregates topic from its beginning into the :class:`HistoryStore`."""

from __future__ import annotations

import asyncio
import logging

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from streams.settings import Settings
from streams.topics import AGGREGATES, declare_topics
from streams.web.history import HistoryStore

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0


class HistoryFollower:
    """Reads every record of ``cc.kpi.aggregates`` (all partitions, no consumer group)
    and keeps the final ones. ``caught_up`` is set once a read finds nothing new: a
    hint for the board, not a promise (a slow fetch on a busy broker can set it early;
    Tansu's end offsets cannot tell where the end is)."""

    def __init__(self, settings: Settings, store: HistoryStore) -> None:
        self.settings = settings
        self.store = store
        self.caught_up = asyncio.Event()
        self.read = 0

    async def run(self) -> None:
        """Follow forever; a failure is logged and the read starts again from the start."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("history: reading %s failed; retrying", AGGREGATES)
            await asyncio.sleep(RETRY_SECONDS)

    async def _follow(self) -> None:
        await declare_topics(self.settings)  # never let a metadata request create it
        topic = self.settings.topic(AGGREGATES)
        consumer = AIOKafkaConsumer(
            **self.settings.kafka_kwargs(),
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=200,
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )
        try:
            await consumer.start()  # inside: a stop during start still closes it
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
                partitions = consumer.partitions_for_topic(topic) or set()
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            while True:
                batch = await consumer.getmany(timeout_ms=500, max_records=20000)
                if not batch:
                    self.caught_up.set()
                for messages in batch.values():
                    for message in messages:
                        self._take(message.key, message.value)
        finally:
            await consumer.stop()

    def _take(self, key: bytes | None, value: bytes | None) -> None:
        self.read += 1
        if value is None:
            if key is not None:
                self.store.remove_key(key.decode(errors="replace"))
            return
        if b'"final":false' in value:  # open updates (most records): skip unparsed
            return
        try:
            record = orjson.loads(value)
        except orjson.JSONDecodeError:
            self.store.skipped += 1
            return
        if isinstance(record, dict):
            self.store.add(record)
        else:
            self.store.skipped += 1
