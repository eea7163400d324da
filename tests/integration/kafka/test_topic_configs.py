"""What cckpi declares for its output and state topics, as Apache Kafka applies it.

The embedded broker never compacts and never applies retention, so these hold only
here. The broker runs with aggressive defaults: a segment rolled every second,
records of a topic that declares nothing deleted after 20 s, the log cleaner
cleaning anything dirty at once. cckpi declares its topics itself
(``streams.topics.topic_specs``), with nothing added by the test:

- ``cc.kpi.aggregates`` (``cleanup.policy=compact``) is really compacted: below
  the offset the cleaner reports as cleaned, each key has one record; the last
  record of every key is its final value, equal to the independent computation;
- ``cc.internal.partials`` (``retention.ms=-1``) keeps every record from offset 0,
  while an input topic, declared without retention, lost its old records.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from streams.kafka_local import LocalKafka
from tests.conftest import KAFKA_VERSION, kafka_jars_or_skip
from tests.integration.harness import wait_until
from tests.integration.scenario import hard_stream
from tests.integration.test_reliability import (
    Feeder,
    Oracle,
    assigned_counts,
    interleaved,
    lag,
    start_worker,
    wait_for_finals,
)
from tests.oracle.compare import diff_finals

pytestmark = [pytest.mark.integration, pytest.mark.kafka]

GRACE = 300.0
RETENTION_MS = 20_000
AGGRESSIVE = {
    "log.roll.ms": "1000",
    "log.retention.ms": str(RETENTION_MS),
    "log.retention.check.interval.ms": "1000",
    "log.initial.task.delay.ms": "1000",
    "log.segment.delete.delay.ms": "0",
    "log.cleaner.backoff.ms": "500",
    "log.cleaner.min.cleanable.ratio": "0.01",
    "log.cleaner.min.compaction.lag.ms": "0",
}


@pytest.fixture(scope="module")
def aggressive_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    kafka_jars_or_skip()
    folder = tmp_path_factory.mktemp("aggressive-kafka")
    with LocalKafka(folder, settings=AGGRESSIVE, version=KAFKA_VERSION) as kafka:
        yield kafka


Record = tuple[int, bytes | None, bytes | None]


async def partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    if not consumer.partitions_for_topic(topic):
        await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]


async def read_partitions(bootstrap: str, topic: str) -> dict[int, list[Record]]:
    """(offset, key, value) of every record now in each partition, read up to the
    partition's end offset (Kafka's ListOffsets is exact; compaction leaves gaps)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        tps = await partitions(consumer, topic)
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends = await consumer.end_offsets(tps)
        out: dict[int, list[Record]] = {tp.partition: [] for tp in tps}

        async def behind() -> bool:
            return any([await consumer.position(tp) < ends[tp] for tp in tps])

        while await behind():
            batch = await consumer.getmany(timeout_ms=500, max_records=20000)
            for tp, messages in batch.items():
                out[tp.partition].extend((m.offset, m.key, m.value) for m in messages)
        return out
    finally:
        await consumer.stop()


async def log_bounds(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition (first offset still in the log, end offset)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = await partitions(consumer, topic)
        starts = await consumer.beginning_offsets(tps)
        ends = await consumer.end_offsets(tps)
        return {tp.partition: (starts[tp], ends[tp]) for tp in tps}
    finally:
        await consumer.stop()


async def topic_config(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        [resource] = response.resources
        return {entry[0]: entry[1] for entry in resource[4]}
    finally:
        await admin.close()


def cleaned_offsets(kafka: LocalKafka, topic: str) -> dict[int, int]:
    """The log cleaner's checkpoint: per partition, the offset below which it cleaned."""
    path = kafka.log_dir / "cleaner-offset-checkpoint"
    if not path.exists():
        return {}
    out = {}
    for line in path.read_text().splitlines()[2:]:
        name, partition, offset = line.rsplit(" ", 2)
        if name == topic:
            out[int(partition)] = int(offset)
    return out


@pytest.mark.timeout(420)
def test_aggregates_are_compacted_to_their_finals_and_partials_are_kept(
    aggressive_kafka: LocalKafka, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    kafka = aggressive_kafka
    bootstrap = kafka.bootstrap_servers
    config = repo_root / "deploy" / "cckpi.yaml"
    messages = interleaved(
        hard_stream(
            datetime(2026, 11, 23, 0, tzinfo=UTC), count=20_000, rate=0.2, seed=53, grace=GRACE
        )
    )
    oracle = Oracle(messages, config)
    aggregates, partials = prefix + "cc.kpi.aggregates", prefix + "cc.internal.partials"
    contacts = prefix + "cc.contacts"
    worker = start_worker(bootstrap, prefix, tmp_path, config)
    try:
        wait_until(lambda: assigned_counts(worker), 90, "the first assignment")
        declared = asyncio.run(topic_config(bootstrap, aggregates))
        assert declared["cleanup.policy"] == "compact", declared
        kept = asyncio.run(topic_config(bootstrap, partials))
        assert kept["retention.ms"] == "-1" and kept["retention.bytes"] == "-1", kept
        assert asyncio.run(topic_config(bootstrap, contacts))["retention.ms"] == str(RETENTION_MS)
        # Fed over ~10 s, so segments roll under traffic and the cleaner runs meanwhile.
        Feeder(bootstrap, prefix, messages, chunks=10, pause=1.0).join(120)
        expected = oracle.result()
        wait_until(lambda: lag(worker) == 0, 120, "the worker to catch up")
        wait_for_finals(bootstrap, aggregates, expected, 120)

        def cleaned() -> dict[int, int] | None:
            found = cleaned_offsets(kafka, aggregates)
            return found if len(found) == 4 and all(found.values()) else None

        done = wait_until(cleaned, 120, "the log cleaner to clean every aggregates partition")
        records = asyncio.run(read_partitions(bootstrap, aggregates))
        removed = 0
        for partition, rows in records.items():
            below = [key for offset, key, _ in rows if offset < done[partition]]
            assert len(below) == len(set(below)), f"partition {partition} not compacted"
            removed += done[partition] - len(below)
        assert removed > 0, "the cleaner removed nothing"
        last: dict[str, dict[str, Any]] = {}
        for rows in records.values():
            for _, key, value in rows:
                assert key is not None and value is not None
                last[key.decode()] = orjson.loads(value)
        not_final = [key for key in expected.finals if not last[key]["final"]]
        assert not not_final, f"{len(not_final)} keys end on a non-final value: {not_final[:5]}"
        problems = diff_finals(expected.finals, {key: last[key] for key in expected.finals})
        assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])

        # Retention: the input topic (declared with nothing) lost its old records after
        # 20 s; the partials (retention.ms=-1) keep everything from offset 0.
        def trimmed() -> dict[int, tuple[int, int]] | None:
            bounds = asyncio.run(log_bounds(bootstrap, contacts))
            return bounds if all(start > 0 for start, _ in bounds.values()) else None

        contacts_bounds = wait_until(trimmed, 90, "retention to delete old input records")
        [(start, end)] = asyncio.run(log_bounds(bootstrap, partials)).values()
        assert start == 0 and end > 0, (start, end)
        [rows] = asyncio.run(read_partitions(bootstrap, partials)).values()
        assert [offset for offset, _, _ in rows] == list(range(end)), "partials lost records"
        print(
            f"\naggregates: {sum(len(r) for r in records.values())} records left, {removed} "
            f"removed by compaction below the cleaned offsets {done}; {len(expected.finals)} "
            f"finals exact. {contacts} trimmed to {contacts_bounds}; partials kept 0..{end}"
        )
    finally:
        worker.stop()
