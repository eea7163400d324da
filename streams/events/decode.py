"""Bytes to event, or a dead letter with a reason: bad input is a value, never an exception."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from pydantic import TypeAdapter, ValidationError

from streams.events.instant import epoch as epoch  # the fold and sources import it here
from streams.events.models import TOPIC_EVENTS, AnyEvent
from streams.events.records import Record, record_adapter


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
_NAIVE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?$")
"""A date-time that would match the models' pattern but for its missing offset."""
EARLIEST: Final = 0.0
LATEST: Final = datetime(3000, 1, 1, tzinfo=UTC).timestamp()
"""Event times are in [EARLIEST, LATEST): 1970..2999 (a year-9999 event would poison
the watermark)."""

Decoded = tuple[AnyEvent, float]
"""A valid event and its ``occurred_at`` in epoch seconds."""
Timed = tuple[Record, float, float]
"""A valid event as a dict, its ``occurred_at`` and its ticket's ``created_at`` (a ticket
event's; ``occurred_at`` again for others) in epoch seconds."""


def raw_text(raw: bytes) -> str:
    """The original bytes as UTF-8 where possible, else base64 (prefixed ``base64:``)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


_N: Final = ord("N")
_I: Final = ord("I")


def _nan_or_infinity(raw: bytes) -> bool:
    """Whether ``raw`` mentions NaN or Infinity and is not RFC 8259 JSON (orjson, unlike
    pydantic's parser, refuses those tokens; either way the message is not JSON)."""
    if b"NaN" not in raw and b"Infinity" not in raw:
        return False
    try:
        orjson.loads(raw)
    except orjson.JSONDecodeError:
        return True
    return False


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
    if kind == "string_pattern_mismatch":  # only timestamps have a pattern
        text = error.get("input")
        return "naive_timestamp" if isinstance(text, str) and _NAIVE.match(text) else "wrong_type"
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
    if error["type"] == "string_pattern_mismatch":
        return f"{where}: not an RFC 3339 date-time with an offset"
    return f"{where}: {error['msg']}"[:_MAX_DETAIL]


def _instant(field: str, text: str) -> float | DeadLetter:
    """Epoch seconds of a timestamp field, or why it is refused."""
    try:
        seconds = epoch(text)
    except OverflowError:
        return DeadLetter("out_of_range", f"{field}: outside 1970..2999")
    except ValueError:
        return DeadLetter("wrong_type", f"{field}: not a real date-time")
    if not EARLIEST <= seconds < LATEST:
        return DeadLetter("out_of_range", f"{field}: outside 1970..2999")
    return seconds


_TOMBSTONE: Final = DeadLetter("not_json", "empty message (tombstone)")
_TICKET_TIMED: Final = frozenset({"ticket.replied", "ticket.solved", "ticket.reopened"})
"""Ticket events that restate their ticket's creation (``created_at``)."""


def _timed(record: Record) -> Timed | DeadLetter:
    """The event with its times, once its timestamps are real instants in order."""
    at = _instant("occurred_at", record["occurred_at"])
    if isinstance(at, DeadLetter):
        return at
    kind: str = record["type"]
    if kind in _TICKET_TIMED:
        created = _instant("created_at", record["created_at"])
        if isinstance(created, DeadLetter):
            return created
        if at < created:
            return DeadLetter("out_of_range", "occurred_at: before created_at")
        return record, at, created
    if kind == "agent.shift":
        refused = _shift_refused(record["start"], record["end"])
        if refused is not None:
            return refused
    return record, at, at


MAX_SHIFT_SECONDS: Final = 7 * 86400
"""A longer ``agent.shift`` is refused: no one is staffed for a week on end."""


def _shift_refused(start_text: str, end_text: str) -> DeadLetter | None:
    start = _instant("start", start_text)
    if isinstance(start, DeadLetter):
        return start
    end = _instant("end", end_text)
    if isinstance(end, DeadLetter):
        return end
    if end <= start:
        return DeadLetter("out_of_range", "end: not after start")
    if end - start > MAX_SHIFT_SECONDS:
        return DeadLetter("out_of_range", "end: more than 7 days after start")
    return None


class Decoder:
    """Validates the messages of one contract topic: the shape in pydantic's Rust core,
    then the timestamps as instants (:func:`epoch`). :meth:`decode` gives the event as
    its model; :meth:`decode_timed`, the fold's, as a dict (:mod:`streams.events.records`,
    the same checks), and the models name the reason of whatever it refuses."""

    __slots__ = ("_adapter", "_max_bytes", "_records")

    def __init__(self, topic: str, max_bytes: int) -> None:
        self._adapter: TypeAdapter[AnyEvent] = TypeAdapter(TOPIC_EVENTS[topic])  # type: ignore[arg-type]
        self._records = record_adapter(topic)
        self._max_bytes = max_bytes

    def decode(self, raw: bytes | None) -> Decoded | DeadLetter:
        """The event as its model, with its ``occurred_at`` in epoch seconds."""
        if raw is None:
            return _TOMBSTONE
        refused = self._unreadable(raw)
        if refused is not None:
            return refused
        event = self._model(raw)
        if isinstance(event, DeadLetter):
            return event
        timed = _timed(event.__dict__)
        if isinstance(timed, DeadLetter):
            return timed
        return event, timed[1]

    def decode_timed(self, raw: bytes | None) -> Timed | DeadLetter:
        """For the fold: the event as a dict (:mod:`streams.events.records`), with its
        ``occurred_at`` and its ticket's ``created_at`` in epoch seconds."""
        if raw is None:
            return _TOMBSTONE
        refused = self._unreadable(raw)
        if refused is not None:
            return refused
        try:
            record = self._records.validate_json(raw)
        except ValidationError:
            # The models name the reason (and decide: they are the contract).
            event = self._model(raw)
            if isinstance(event, DeadLetter):
                return event
            record = dict(event.__dict__)
        return _timed(record)

    def _unreadable(self, raw: bytes) -> DeadLetter | None:
        if len(raw) > self._max_bytes:
            return DeadLetter("oversize", f"{len(raw)} bytes > {self._max_bytes}")
        # pydantic's parser accepts NaN and Infinity (in a field it then ignores, too).
        # Looking for the bytes N and I first (memchr) is 20x cheaper than for the words.
        if (_N in raw or _I in raw) and _nan_or_infinity(raw):
            return DeadLetter("not_json", "NaN and Infinity are not JSON (RFC 8259)")
        return None

    def _model(self, raw: bytes) -> AnyEvent | DeadLetter:
        try:
            return self._adapter.validate_json(raw)
        except ValidationError as exc:
            # The input is read for the reason only; details never repeat it.
            first = exc.errors(include_url=False)[0]
            return DeadLetter(_reason(first, raw), _detail(first))
