"""The one producer path of every source: contract events, validated, to their topics.

A source builds contract events as plain mappings; :func:`check` validates one
with the worker's own decoder (so a source cannot send what the worker would
dead-letter for its shape) and names its topic and message key; :class:`EventSink`
produces checked events and returns only once the broker has acknowledged them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, get_args

import orjson
from aiokafka import AIOKafkaProducer

from streams.events.decode import DeadLetter, Decoder
from streams.events.models import TOPIC_EVENTS
from streams.settings import Settings

KEY_FIELDS: dict[str, str] = {
    "cc.contacts": "contact_id",
    "cc.tickets": "ticket_id",
    "cc.surveys": "event_id",
    "cc.quality": "event_id",
    "cc.agents": "agent",
}
"""Contract topic -> the event field that is its message key (CONTRACT.md, Input topics)."""


def _types_of(union: object) -> list[str]:
    """The ``type`` literals of a topic's event union (``Annotated[A | B, Field]``)."""
    members = get_args(get_args(union)[0]) or (get_args(union)[0],)
    return [name for model in members for name in get_args(model.model_fields["type"].annotation)]


TYPE_TOPICS: dict[str, str] = {
    kind: topic for topic, union in TOPIC_EVENTS.items() for kind in _types_of(union)
}
"""Event type -> its contract topic."""

assert set(TYPE_TOPICS.values()) == set(TOPIC_EVENTS) == set(KEY_FIELDS)  # noqa: S101


@dataclass(frozen=True, slots=True)
class Checked:
    """A valid contract event, ready to produce."""

    topic: str
    """The contract topic name (unprefixed)."""
    key: bytes
    value: bytes
    event_id: str
    occurred_at: float
    """Event time in epoch seconds."""


class Checker:
    """Validates contract events with the worker's decoders, one per topic."""

    def __init__(self, max_bytes: int) -> None:
        self._decoders = {topic: Decoder(topic, max_bytes) for topic in TOPIC_EVENTS}

    def check(self, event: Mapping[str, Any] | bytes) -> Checked | DeadLetter:
        """The event with its topic and key, or why the worker would refuse it."""
        if isinstance(event, bytes | bytearray):
            try:
                parsed = orjson.loads(event)
            except orjson.JSONDecodeError:
                return DeadLetter("not_json", "not a JSON document")
            raw = bytes(event)
        else:
            parsed, raw = event, b""
        if not isinstance(parsed, Mapping):
            return DeadLetter("not_object", "message: not a JSON object")
        kind = parsed.get("type")
        topic = TYPE_TOPICS.get(kind) if isinstance(kind, str) else None
        if topic is None:
            if kind is None:
                return DeadLetter("missing_field", "type: Field required")
            return DeadLetter("unknown_type", "type: not a contract event type")
        value = raw or orjson.dumps(parsed)
        decoded = self._decoders[topic].decode(value)
        if isinstance(decoded, DeadLetter):
            return decoded
        model, at = decoded
        key = getattr(model, KEY_FIELDS[topic])
        return Checked(topic, str(key).encode(), value, model.event_id, at)


class EventSink:
    """An acks=all producer of checked events to the (prefixed) input topics.

    A repeat after a retry is harmless: the worker drops an event id it has seen."""

    def __init__(self, settings: Settings, **producer_options: Any) -> None:
        self.settings = settings
        options: dict[str, Any] = {"linger_ms": 5, "max_batch_size": 512 * 1024}
        options.update(producer_options)  # may tune linger and batches; acks stay "all"
        options["acks"] = "all"
        self.producer = AIOKafkaProducer(**settings.kafka_kwargs(), **options)

    async def start(self) -> EventSink:
        await self.producer.start()
        return self

    async def stop(self) -> None:
        await self.producer.stop()

    async def __aenter__(self) -> EventSink:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def send(self, events: Iterable[Checked]) -> int:
        """Produce events in order; return once every one is acknowledged (their count)."""
        futures: list[asyncio.Future[Any]] = []
        for event in events:
            topic = self.settings.topic(event.topic)
            futures.append(await self.producer.send(topic, event.value, key=event.key))
        await asyncio.gather(*futures)
        return len(futures)

    async def send_batched(self, events: Iterable[Checked]) -> int:
        """Like :meth:`send`, built as one record batch per partition (each key where
        ``send()`` would put it, the order within a partition kept): for bulk sources,
        where one ``send()`` per event costs more than checking the event."""
        from streams.pipeline.batching import IN_FLIGHT_BYTES, PartitionBatches

        batches: dict[str, PartitionBatches] = {}
        count = 0
        for event in events:
            topic = self.settings.topic(event.topic)
            batch = batches.get(topic)
            if batch is None:
                batch = batches[topic] = await PartitionBatches.of(self.producer, topic)
            batch.add(event.key, event.value)
            count += 1
            if batch.bytes >= IN_FLIGHT_BYTES:
                await batch.flush()
        await asyncio.gather(*(batch.flush() for batch in batches.values()))
        return count
