"""Bytes to event, or a dead letter with a reason: bad input is a value, never an exception."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError

from streams.events.models import TOPIC_EVENTS, AnyEvent


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Why a message was refused, with enough to find and replay it."""

    reason: str
    detail: str

    def record(self, topic: str, partition: int, offset: int, raw: bytes) -> dict[str, Any]:
        """The ``cc.deadletter`` record of CONTRACT.md."""
        return {
            "reason": self.reason,
            "detail": self.detail,
            "topic": topic,
            "partition": partition,
            "offset": offset,
            "raw": raw_text(raw),
        }


REASONS = (
    "oversize",
    "invalid_utf8",
    "not_json",
    "not_object",
    "unknown_type",
    "missing_field",
    "wrong_type",
    "invalid_value",
    "out_of_range",
    "naive_timestamp",
    "late",
)
"""Every dead-letter reason, for documentation and bounded metric labels."""

_RANGE_ERRORS = {
    "out_of_range",
    "greater_than",
    "greater_than_equal",
    "less_than",
    "less_than_equal",
    "string_too_short",
    "string_too_long",
    "too_long",
    "too_short",
    "finite_number",
    "value_error",
}
_VALUE_ERRORS = {"literal_error", "enum"}
_MAX_DETAIL = 300


def raw_text(raw: bytes) -> str:
    """The original bytes as UTF-8 where possible, else base64 (prefixed ``base64:``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


def _strict_json(raw: bytes) -> bool:
    """Whether ``raw`` parses as RFC 8259 JSON (orjson refuses NaN and Infinity)."""
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return False
    return True


def _reason(error: Any, raw: bytes) -> str:
    kind = error["type"]
    if kind == "json_invalid":
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return "invalid_utf8"
        return "not_json"
    if kind in ("dict_type", "model_type"):
        return "not_object"
    if kind == "union_tag_invalid":
        return "unknown_type"
    if kind in ("missing", "union_tag_not_found"):
        return "missing_field"
    if kind == "timezone_aware":
        return "naive_timestamp"
    if kind in _VALUE_ERRORS:
        return "invalid_value"
    if kind in _RANGE_ERRORS:
        return "out_of_range"
    return "wrong_type"


def _detail(error: Any) -> str:
    """Where and what, never the input: only the top-level field name (a schema name,
    unlike dict keys or values) and pydantic's message (which names expectations)."""
    if error["type"] == "union_tag_invalid":
        return "type: not an event type of this topic"
    loc = error["loc"]
    where = str(loc[1]) if len(loc) > 1 else "message"
    return f"{where}: {error['msg']}"[:_MAX_DETAIL]


class Decoder:
    """Validates the messages of one contract topic."""

    __slots__ = ("_adapter", "_max_bytes")

    def __init__(self, topic: str, max_bytes: int) -> None:
        self._adapter: TypeAdapter[AnyEvent] = TypeAdapter(TOPIC_EVENTS[topic])  # type: ignore[arg-type]
        self._max_bytes = max_bytes

    def decode(self, raw: bytes | None) -> AnyEvent | DeadLetter:
        if raw is None:
            return DeadLetter("not_json", "empty message (tombstone)")
        if len(raw) > self._max_bytes:
            return DeadLetter("oversize", f"{len(raw)} bytes > {self._max_bytes}")
        if (b"NaN" in raw or b"Infinity" in raw) and not _strict_json(raw):
            # pydantic's parser accepts these tokens (in a field it then ignores, too).
            return DeadLetter("not_json", "NaN and Infinity are not JSON (RFC 8259)")
        try:
            return self._adapter.validate_json(raw)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
            first = errors[0]
            return DeadLetter(_reason(first, raw), _detail(first))
