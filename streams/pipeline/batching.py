"""Keyed records sent as one record batch per partition instead of one ``send()`` each.

``AIOKafkaProducer.send`` costs far more than the record: it waits on metadata,
validates and partitions the key, and creates an asyncio future per record
(about 20 % of a worker's event loop when publishing aggregates). Building
batches with ``create_batch``/``send_batch`` pays those once per batch.

The records keep their keys, values, order within a partition and partition:
each key goes where the producer's own partitioner would put it (Kafka's
murmur2, :class:`CachedPartitioner`), which a compacted topic needs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka import AIOKafkaProducer

from streams.pipeline.partitioner import CachedPartitioner

IN_FLIGHT_BYTES = 4 * 2**20
"""Bytes of keys and values sent before waiting for their acknowledgements."""

PARTITIONER = CachedPartitioner()
"""Partitions published keys. streams/app.py gives the same instance to the producer
(aiokafka keeps its partitioner private), so a keyed ``send()`` lands where a batch
would and the worker holds one hash cache."""


class PartitionBatches:
    """Open record batches of one topic, one per partition, sent together by :meth:`flush`.

    Nothing is sent before :meth:`flush`, so the caller bounds what is held in
    memory by flushing every so many :attr:`records` or :attr:`bytes`.
    """

    def __init__(self, producer: AIOKafkaProducer, topic: str, partitions: list[int]) -> None:
        self.producer = producer
        self.topic = topic
        self.partitions = partitions
        self.records = 0
        """Records added since the last flush."""
        self.bytes = 0
        """Bytes of keys and values added since the last flush."""
        self._open: dict[int, Any] = {}
        self._full: list[tuple[int, Any]] = []

    @classmethod
    async def of(cls, producer: AIOKafkaProducer, topic: str) -> PartitionBatches:
        """Batches for ``topic``, its partitions as the producer knows them.

        Sorted, as the partitioner interface (and the Java client's numbering) expects;
        waits for the topic's metadata as ``send()`` would.
        """
        return cls(producer, topic, sorted(await producer.partitions_for(topic)))

    def add(self, key: bytes, value: bytes) -> None:
        """Append a record to its partition's batch; a full batch is set aside for the flush."""
        partition = PARTITIONER(key, self.partitions, self.partitions)
        builder = self._open.get(partition)
        if builder is None or builder.append(key=key, value=value, timestamp=None) is None:
            if builder is not None:
                self._full.append((partition, builder))
            builder = self._open[partition] = self.producer.create_batch()
            # The first record always fits: an empty batch takes any one record.
            builder.append(key=key, value=value, timestamp=None)
        self.records += 1
        self.bytes += len(key) + len(value)

    async def flush(self) -> None:
        """Send every batch (full ones first, so a partition keeps its order) and wait
        until the broker acknowledged them all; raises what a failed batch raised."""
        batches, self._full = [*self._full, *self._open.items()], []
        self._open = {}
        sent = [await self._send(partition, builder) for partition, builder in batches]
        self.records = self.bytes = 0
        await asyncio.gather(*sent)

    async def _send(self, partition: int, builder: Any) -> asyncio.Future[Any]:
        # Closed: nothing else may join it, and the sender need not linger for more.
        builder.close()
        future: asyncio.Future[Any] = await self.producer.send_batch(
            builder, self.topic, partition=partition
        )
        return future
