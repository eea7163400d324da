"""Every topic cckpi reads or writes, and their explicit declaration.

Topics are declared before anything reads them: Tansu auto-creates a topic with
4 partitions when a client asks for its metadata first (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.access import check_access
from streams.events.models import INPUT_TOPICS
from streams.settings import Settings

log = logging.getLogger(__name__)

AGGREGATES = "cc.kpi.aggregates"
BREACHES = "cc.target.breaches"
DEADLETTER = "cc.deadletter"
PARTIALS = "cc.internal.partials"
"""Ingest -> merger: per source partition and batch, the folded cells and the
state needed to resume exactly (one record, so it is written atomically)."""
PARTIALS_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
"""The largest record batch the partials topic takes: the worker producer's
``max_request_size`` (streams/app.py)."""


def topic_specs(settings: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    """Real topic name -> (partitions, config) for every topic of the service."""
    compacted = {"cleanup.policy": "compact"}
    specs: dict[str, tuple[int, dict[str, str]]] = {
        settings.topic(name): (settings.input_partitions, {}) for name in INPUT_TOPICS
    }
    specs[settings.topic(AGGREGATES)] = (4, compacted)
    specs[settings.topic(BREACHES)] = (1, {})
    specs[settings.topic(DEADLETTER)] = (1, {})
    # The state store: a broker's default retention (7 days on Kafka) would delete
    # partials a restart still needs; snapshots keep restarts short however long it is.
    # Snapshot chunks (4 MiB) and large partials pass Kafka's default record batch
    # limit (message.max.bytes, 1 MiB: MessageSizeTooLargeError stopped the worker on
    # Kafka 4.1.1); the topic takes what the worker's producer may send.
    specs[settings.topic(PARTIALS)] = (
        1,
        {
            "retention.ms": "-1",
            "retention.bytes": "-1",
            "max.message.bytes": str(PARTIALS_MAX_MESSAGE_BYTES),
        },
    )
    return specs


async def declare_topics(settings: Settings, timeout: float = 60.0) -> None:
    """Create every missing topic; waits for the broker up to ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        admin = AIOKafkaAdminClient(**settings.kafka_kwargs(), request_timeout_ms=10000)
        try:
            await admin.start()
            break
        except KafkaConnectionError:
            await admin.close()
            await check_access(settings.kafka_kwargs())  # refused credentials: no retrying
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.warning("broker %s not reachable yet; retrying", settings.kafka_bootstrap_servers)
            await asyncio.sleep(1.0)
    try:
        existing = set(await admin.list_topics())
        for name, (partitions, config) in topic_specs(settings).items():
            if name in existing:
                continue
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics([NewTopic(name, partitions, 1, topic_configs=config)])
    finally:
        await admin.close()


async def read_all(
    kafka_kwargs: dict[str, Any], topic: str, idle: float = 2.0
) -> list[tuple[bytes | None, bytes | None]]:
    """Every record of a topic from the beginning, until ``idle`` seconds pass without one.

    Tansu's ListOffsets answers the last batch's base offset + 1 rather than the
    log end, so "up to the end offsets" would miss records there; quiet time works
    on every broker.
    """
    consumer = AIOKafkaConsumer(
        **kafka_kwargs,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    try:
        await consumer.start()
    except KafkaConnectionError:
        await consumer.stop()
        await check_access(kafka_kwargs)  # says why, if the broker refused us
        raise
    out: list[tuple[bytes | None, bytes | None]] = []
    try:
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - no public call
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            return out
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        loop = asyncio.get_running_loop()
        quiet_since = loop.time()
        while loop.time() - quiet_since < idle:
            batch = await consumer.getmany(timeout_ms=200, max_records=20000)
            for messages in batch.values():
                out.extend((m.key, m.value) for m in messages)
            if batch:
                quiet_since = loop.time()
    finally:
        await consumer.stop()
    return out
