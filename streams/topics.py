"""Every topic cckpi reads or writes, and their explicit declaration.

Topics are declared before anything reads them: Tansu auto-creates a topic with
4 partitions when a client asks for its metadata first (DESIGN.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from streams.events.models import INPUT_TOPICS
from streams.settings import Settings

log = logging.getLogger(__name__)

AGGREGATES = "cc.kpi.aggregates"
BREACHES = "cc.target.breaches"
DEADLETTER = "cc.deadletter"
PARTIALS = "cc.internal.partials"
"""Ingest -> merger: per source partition and batch, the folded cells and the
state needed to resume exactly (one record, so it is written atomically)."""


def topic_specs(settings: Settings) -> dict[str, tuple[int, dict[str, str]]]:
    """Real topic name -> (partitions, config) for every topic of the service."""
    compacted = {"cleanup.policy": "compact"}
    specs: dict[str, tuple[int, dict[str, str]]] = {
        settings.topic(name): (settings.input_partitions, {}) for name in INPUT_TOPICS
    }
    specs[settings.topic(AGGREGATES)] = (4, compacted)
    specs[settings.topic(BREACHES)] = (1, {})
    specs[settings.topic(DEADLETTER)] = (1, {})
    specs[settings.topic(PARTIALS)] = (1, {})
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
