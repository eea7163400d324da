"""Publishing in batches per partition, on the embedded broker: nothing lost, moved or reordered.

The aggregates topic is compacted, so a key must land on the partition the
per-record ``send()`` (aiokafka's murmur2 partitioner, as the Java client) put it
on before; and within a partition the later value of a key must stay the later.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import DefaultPartitioner

from streams.broker import EmbeddedBroker
from streams.pipeline import batching, publish
from streams.pipeline.partitioner import CachedPartitioner
from streams.pipeline.publish import PublishService
from streams.pipeline.runtime import Runtime
from streams.settings import Settings, load_settings
from streams.topics import AGGREGATES, BREACHES, declare_topics, topic_specs

pytestmark = pytest.mark.integration

Records = list[tuple[bytes, bytes]]


def aggregates(count: int, pad: int = 0) -> Records:
    """Aggregate-like records; every 7th key repeats an earlier one with a newer value."""
    out: Records = []
    for n in range(count):
        scope = f"agent=a{n % 500},queue=q{n % 50},team=t{n % 10}"
        key = f"kpi{n % 13}|hour|2026-05-01T{n % 24:02d}:00:00+00:00|{scope}|{n}"
        if n % 7 == 6:
            key = out[n - 6][0].decode()
        value = {"kpi": f"kpi{n % 13}", "scope": scope, "value": n / 7, "seq": n, "pad": "x" * pad}
        out.append((key.encode(), orjson.dumps(value)))
    return out


def murmur2_partition(key: bytes, count: int) -> int:
    partitions = list(range(count))
    return int(DefaultPartitioner()(key, partitions, partitions))


@pytest.fixture
async def settings(broker: EmbeddedBroker, prefix: str) -> Settings:
    made = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers, topic_prefix=prefix)
    await declare_topics(made)
    return made


@pytest.fixture
async def service(settings: Settings) -> AsyncIterator[PublishService]:
    """A publisher with a producer built like streams/app.py's, small batches to fill many."""
    producer = AIOKafkaProducer(
        **settings.kafka_kwargs(),
        linger_ms=5,
        acks="all",
        max_batch_size=16 * 1024,
        partitioner=CachedPartitioner(),
    )
    await producer.start()
    try:
        yield PublishService(Runtime(settings), producer, None)  # type: ignore[arg-type]
    finally:
        await producer.stop()


async def read(settings: Settings, topic: str, expected: int) -> dict[int, Records]:
    """Every record of ``topic`` by partition, in offset order: until ``expected`` arrived,
    then one quiet second more so a duplicate would be seen too."""
    consumer = AIOKafkaConsumer(
        **settings.kafka_kwargs(), enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    out: dict[int, Records] = defaultdict(list)
    try:
        partitions = topic_specs(settings)[topic][0]
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        loop = asyncio.get_running_loop()
        deadline, quiet_until = loop.time() + 60, None
        while loop.time() < (quiet_until or deadline):
            batch = await consumer.getmany(timeout_ms=200, max_records=20_000)
            for tp, messages in batch.items():
                out[tp.partition].extend((m.key, m.value) for m in messages)
            if quiet_until is None and sum(map(len, out.values())) >= expected:
                quiet_until = loop.time() + 1.0
    finally:
        await consumer.stop()
    return dict(out)


async def test_every_record_once_in_its_murmur2_partition_in_order(
    settings: Settings, service: PublishService
) -> None:
    """12,000 records: more than two IN_FLIGHT chunks and many full 16 KiB batches."""
    topic = settings.topic(AGGREGATES)
    records = aggregates(12_000)
    await service._send_all(topic, records)  # noqa: SLF001
    got = await read(settings, topic, len(records))
    assert sum(map(len, got.values())) == len(records)
    assert set(got) == {0, 1, 2, 3}, "aggregate keys spread over the 4 partitions"
    for partition, received in got.items():
        expected = [r for r in records if murmur2_partition(r[0], 4) == partition]
        assert received == expected, f"partition {partition}: records, keys or order differ"


async def test_a_key_lands_where_the_per_record_send_put_it(
    settings: Settings, service: PublishService
) -> None:
    """The old path (``send()`` with aiokafka's own default partitioner), then the new one:
    every key is in one partition only, so compaction keeps only its newest value."""
    topic = settings.topic(AGGREGATES)
    records = aggregates(3000)
    producer = AIOKafkaProducer(**settings.kafka_kwargs(), acks="all")
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=key) for key, value in records]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    await service._send_all(topic, records)  # noqa: SLF001
    got = await read(settings, topic, 2 * len(records))
    where: dict[bytes, set[int]] = defaultdict(set)
    for partition, received in got.items():
        for key, _ in received:
            where[key].add(partition)
    assert sum(map(len, got.values())) == 2 * len(records)
    assert {key for key, _ in records} == set(where)
    moved = {key: parts for key, parts in where.items() if len(parts) != 1}
    assert not moved, f"keys in more than one partition: {list(moved.items())[:3]}"


@pytest.mark.parametrize(("count", "pad"), [(12_000, 0), (200, 64 * 1024)])
async def test_acknowledgements_are_awaited_every_so_many_records_or_bytes(
    settings: Settings,
    service: PublishService,
    monkeypatch: pytest.MonkeyPatch,
    count: int,
    pad: int,
) -> None:
    """Memory stays bounded: no flush holds more than IN_FLIGHT records or about
    IN_FLIGHT_BYTES (plus the one record that crossed the line)."""
    flushed: list[tuple[int, int]] = []
    flush = batching.PartitionBatches.flush

    async def counting(self: batching.PartitionBatches) -> None:
        flushed.append((self.records, self.bytes))
        await flush(self)

    monkeypatch.setattr(batching.PartitionBatches, "flush", counting)
    topic = settings.topic(AGGREGATES)
    records = aggregates(count, pad)
    await service._send_all(topic, records)  # noqa: SLF001
    largest = max(len(k) + len(v) for k, v in records)
    assert sum(n for n, _ in flushed) == count
    assert len(flushed) >= 3, f"expected several flushes, got {flushed}"
    assert all(n <= publish.IN_FLIGHT for n, _ in flushed), flushed
    assert all(size < batching.IN_FLIGHT_BYTES + largest for _, size in flushed), flushed
    got = await read(settings, topic, count)
    assert sum(map(len, got.values())) == count


async def test_breaches_go_to_their_single_partition_in_order_and_nothing_is_a_no_op(
    settings: Settings, service: PublishService
) -> None:
    topic = settings.topic(BREACHES)
    await service._send_all(topic, [])  # noqa: SLF001
    breaches = [(f"target-{n % 5}".encode(), orjson.dumps({"n": n})) for n in range(50)]
    await service._send_all(topic, breaches)  # noqa: SLF001
    got = await read(settings, topic, len(breaches))
    assert got == {0: breaches}
