"""Thin simulated history before the live traffic: closed weeks and months for the board.

``cckpi demo --history-days 91`` (what ``make demo`` runs) sends a quarter of
the default scenario at a low rate, ending where the live simulator starts, so
the board's month-by-month trends and each agent's weekly trend beside the
team's have something to show from the first command. Events are sent in time
order and acknowledged before the live simulator starts, so none is late.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from streams.simulate.generator import TrafficGenerator

FLUSH_EVERY = 5000


async def seed_history(
    kafka_kwargs: dict[str, Any],
    topic_for: Any,
    *,
    days: float,
    until: datetime,
    rate: float = 0.005,
    seed: int = 91,
) -> int:
    """Send the scenario's events from ``until - days`` to ``until``; the count sent."""
    generator = TrafficGenerator(start=until - timedelta(days=days), seed=seed, rate=rate)
    end_ms = int(until.timestamp() * 1000)
    producer = AIOKafkaProducer(**kafka_kwargs, linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    sent = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for at_ms, event in generator.timed_events():
            if at_ms >= end_ms:
                break
            value = orjson.dumps(event.value)
            pending.append(
                await producer.send(topic_for(event.topic), value, key=event.key.encode())
            )
            if len(pending) >= FLUSH_EVERY:
                await asyncio.gather(*pending)
                sent += len(pending)
                pending.clear()
        await asyncio.gather(*pending)
        sent += len(pending)
    finally:
        await producer.stop()
    return sent
