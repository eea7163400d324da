"""Reading "to the end" of the partials topic, on each broker.

cckpi never trusts ListOffsets for it (the embedded broker answers the last
batch's base offset + 1, not the log end): it appends a barrier record and reads
up to the barrier's offset. On Kafka, where ListOffsets is exact, the barrier
lands exactly at the old log end, so the two agree; on both brokers reading up to
the barrier yields every record written before it.
"""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from streams.broker import EmbeddedBroker
from streams.kafka_local import LocalKafka
from streams.pipeline.ingest import BARRIER_KEY, write_barrier
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.topics import PARTIALS, declare_topics, read_all

pytestmark = pytest.mark.integration
RECORDS = 5000


async def barrier_run(bootstrap: str, prefix: str) -> dict[str, object]:
    settings = load_settings(kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    await declare_topics(settings)
    topic = settings.topic(PARTIALS)
    tp = TopicPartition(topic, 0)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await producer.start()
    await consumer.start()
    try:
        # Batched, as the worker's partials and snapshot chunks are.
        sent = [
            await producer.send(topic, b"p%d" % i, key=b"s", partition=0) for i in range(RECORDS)
        ]
        await asyncio.gather(*sent)
        end_before = (await consumer.end_offsets([tp]))[tp]
        barrier = await write_barrier(Runtime(settings), producer)
        end_after = (await consumer.end_offsets([tp]))[tp]
        consumer.assign([tp])
        consumer.seek(tp, 0)
        below: list[int] = []
        reached = False
        while not reached:
            batch = await consumer.getmany(tp, timeout_ms=1000)
            for message in batch.get(tp, []):
                if message.offset >= barrier:
                    reached = message.key == BARRIER_KEY
                    break
                below.append(message.offset)
        quiet = await read_all({"bootstrap_servers": bootstrap}, topic, idle=1.0)
    finally:
        await consumer.stop()
        await producer.stop()
    return {
        "barrier": barrier,
        "below": below,
        "end_before": end_before,
        "end_after": end_after,
        "quiet": len(quiet),
    }


def test_the_barrier_marks_the_log_end(
    any_broker: EmbeddedBroker | LocalKafka, prefix: str
) -> None:
    found = asyncio.run(barrier_run(any_broker.bootstrap_servers, prefix))
    assert found["barrier"] == RECORDS, found["barrier"]
    assert found["below"] == list(range(RECORDS)), "reading to the barrier missed records"
    assert found["quiet"] == RECORDS + 1, "reading until quiet missed records"
    if isinstance(any_broker, LocalKafka):
        # Kafka's ListOffsets is the log end: the barrier and the offsets agree.
        assert found["end_before"] == RECORDS and found["end_after"] == RECORDS + 1, found
    print(
        f"\nbarrier at {found['barrier']}; ListOffsets said {found['end_before']} before it "
        f"and {found['end_after']} after ({type(any_broker).__name__})"
    )
