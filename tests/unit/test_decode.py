"""Decoding input messages: every event type accepted, every dead-letter reason produced."""

from __future__ import annotations

import base64
from typing import Any

import orjson
import pytest

from streams.events import models
from streams.events.decode import REASONS, DeadLetter, Decoder, raw_text

from .kpi_helpers import T0, answered, ev, iso, topic_of

SECRET = "CUST-4711-SECRET"  # noqa: S105 - a customer id, not a password
CREATED = T0 - 3600
VALID: list[dict[str, Any]] = [
    ev("contact.offered", "e1", T0, contact_id="c1", queue="billing"),
    answered("e2", T0, 12),
    ev("contact.abandoned", "e3", T0, contact_id="c1", queue="billing", wait_seconds=3),
    ev(
        "contact.abandoned", "e3b", T0, contact_id="c1", queue="q", wait_seconds=0, reason="timeout"
    ),
    ev(
        "contact.completed",
        "e4",
        T0,
        contact_id="c1",
        queue="billing",
        agent="ann",
        talk_seconds=90,
    ),
    ev(
        "contact.completed",
        "e4b",
        T0,
        contact_id="c1",
        queue="billing",
        agent="ann",
        talk_seconds=90,
        hold_seconds=5.5,
        wrap_seconds=None,
        resolved=None,
        transferred=True,
    ),
    ev("ticket.created", "e5", T0, ticket_id="t1"),
    ev(
        "ticket.replied",
        "e6",
        T0,
        ticket_id="t1",
        created_at=CREATED,
        author="agent",
        agent="ann",
        public=True,
    ),
    ev(
        "ticket.replied",
        "e6b",
        T0,
        ticket_id="t1",
        created_at=CREATED,
        author="customer",
        public=False,
    ),
    ev("ticket.solved", "e7", T0, ticket_id="t1", created_at=CREATED, agent="ann"),
    ev("ticket.reopened", "e8", T0, ticket_id="t1", created_at=T0),
    ev("survey.nps", "e9", T0, score=0),
    ev("survey.nps", "e9b", T0, score=10, agent="ann", contact_id="c1", ticket_id="t1"),
    ev("survey.csat", "e10", T0, score=5),
    ev("qa.evaluated", "e11", T0, agent="ann", score=87.5, criteria={"greeting": 100}),
    ev("agent.certified", "e12", T0, agent="ann", certification="gdpr", valid_days=365),
    ev("agent.shift", "e13", T0, agent="ann", start=iso(T0), end=iso(T0 + 8 * 3600)),
]
MODEL_OF = {
    "contact.offered": models.ContactOffered,
    "contact.answered": models.ContactAnswered,
    "contact.abandoned": models.ContactAbandoned,
    "contact.completed": models.ContactCompleted,
    "ticket.created": models.TicketCreated,
    "ticket.replied": models.TicketReplied,
    "ticket.solved": models.TicketSolved,
    "ticket.reopened": models.TicketReopened,
    "survey.nps": models.SurveyNps,
    "survey.csat": models.SurveyCsat,
    "qa.evaluated": models.QaEvaluated,
    "agent.certified": models.AgentCertified,
    "agent.shift": models.AgentShift,
}


def decoded(event: dict[str, Any] | bytes, topic: str | None = None, max_bytes: int = 65536) -> Any:
    """(event, occurred_at in epoch seconds), or the dead letter."""
    if event is None or isinstance(event, bytes):
        return Decoder(topic or "cc.contacts", max_bytes).decode(event)
    if topic is None:
        topic = topic_of(event) if event.get("type") in MODEL_OF else "cc.contacts"
    return Decoder(topic, max_bytes).decode(orjson.dumps(event))


def decode(event: dict[str, Any] | bytes, topic: str | None = None, max_bytes: int = 65536) -> Any:
    """The event, or the dead letter."""
    result = decoded(event, topic, max_bytes)
    return result if isinstance(result, DeadLetter) else result[0]


def changed(event: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy with fields replaced (``...`` removes the field)."""
    out = dict(event)
    for name, value in fields.items():
        if value is ...:
            out.pop(name, None)
        else:
            out[name] = value
    return out


def letter(event: dict[str, Any] | bytes, topic: str | None = None) -> DeadLetter:
    result = decode(event, topic)
    assert isinstance(result, DeadLetter), f"accepted: {result!r}"
    return result


@pytest.mark.parametrize("event", VALID, ids=lambda e: e["event_id"])
def test_every_event_type_is_accepted(event: dict[str, Any]) -> None:
    result, at = decoded(event)
    assert isinstance(result, MODEL_OF[event["type"]])
    assert result.event_id == event["event_id"]
    assert at == T0


def test_every_type_and_topic_is_covered() -> None:
    assert {e["type"] for e in VALID} == set(MODEL_OF)
    assert set(models.TOPIC_EVENTS) == {topic_of(e) for e in VALID}


def test_optional_fields_default() -> None:
    abandon = decode(VALID[2])
    assert abandon.reason is None
    done = decode(VALID[4])
    assert (done.hold_seconds, done.wrap_seconds, done.resolved) == (None, None, None)


def test_unknown_extra_fields_are_ignored() -> None:
    event = changed(VALID[1], future_field={"nested": [1, 2]}, queue_priority=3)
    result = decode(event)
    assert isinstance(result, models.ContactAnswered)
    assert not hasattr(result, "future_field")


def test_offsets_and_z_are_aware() -> None:
    base = VALID[0]
    times = [
        decoded(changed(base, occurred_at=text))[1]
        for text in (
            "2026-11-02T00:00:00Z",
            "2026-11-02T02:00:00+02:00",
            "2026-11-01t19:00:00-05:00",
            "2026-11-02 00:00:00.000z",
        )
    ]
    assert times == [T0] * 4


ANSWER = VALID[1]
REPLY = VALID[7]
NPS = VALID[11]


@pytest.mark.parametrize(
    ("message", "topic", "reason"),
    [
        pytest.param(b"\xff\xfe\x00garbage", "cc.contacts", "invalid_utf8", id="invalid-utf8"),
        pytest.param(b'{"event_id": "\xff"}', "cc.contacts", "invalid_utf8", id="utf8-in-json"),
        pytest.param(b"not json at all", "cc.contacts", "not_json", id="not-json"),
        pytest.param(b'{"event_id": "x",', "cc.contacts", "not_json", id="truncated"),
        pytest.param(None, "cc.contacts", "not_json", id="tombstone"),
        pytest.param(b"[1, 2, 3]", "cc.contacts", "not_object", id="list"),
        pytest.param(b'"text"', "cc.contacts", "not_object", id="string"),
        pytest.param(b"42", "cc.contacts", "not_object", id="number"),
        pytest.param(
            changed(ANSWER, type="contact.teleported"), None, "unknown_type", id="unknown"
        ),
        pytest.param(VALID[6], "cc.contacts", "unknown_type", id="ticket-on-contacts"),
        pytest.param(ANSWER, "cc.tickets", "unknown_type", id="contact-on-tickets"),
        pytest.param(changed(ANSWER, type=...), None, "missing_field", id="no-type"),
        pytest.param(changed(ANSWER, queue=...), None, "missing_field", id="no-queue"),
        pytest.param(changed(ANSWER, occurred_at=...), None, "missing_field", id="no-time"),
        pytest.param(changed(REPLY, public=...), None, "missing_field", id="no-public"),
        pytest.param(changed(ANSWER, contact_id=4711), None, "wrong_type", id="id-int"),
        pytest.param(changed(ANSWER, wait_seconds=[1]), None, "wrong_type", id="wait-list"),
        pytest.param(changed(ANSWER, occurred_at="yesterday"), None, "wrong_type", id="time-text"),
        pytest.param(changed(NPS, score=9.5), None, "wrong_type", id="nps-float"),
        pytest.param(changed(NPS, score="9"), None, "wrong_type", id="nps-text"),
        pytest.param(changed(ANSWER, channel="fax"), None, "invalid_value", id="channel-fax"),
        pytest.param(changed(REPLY, author="bot"), None, "invalid_value", id="author-bot"),
        pytest.param(changed(VALID[2], reason="bored"), None, "invalid_value", id="reason"),
        pytest.param(changed(ANSWER, wait_seconds=-1), None, "out_of_range", id="negative-wait"),
        pytest.param(changed(VALID[4], hold_seconds=-0.5), None, "out_of_range", id="neg-hold"),
        pytest.param(changed(NPS, score=11), None, "out_of_range", id="nps-11"),
        pytest.param(changed(NPS, score=-1), None, "out_of_range", id="nps-neg"),
        pytest.param(changed(VALID[13], score=0), None, "out_of_range", id="csat-0"),
        pytest.param(changed(VALID[13], score=6), None, "out_of_range", id="csat-6"),
        pytest.param(changed(VALID[14], score=100.5), None, "out_of_range", id="qa-over"),
        pytest.param(changed(VALID[15], valid_days=0), None, "out_of_range", id="days-0"),
        pytest.param(changed(ANSWER, event_id=""), None, "out_of_range", id="empty-id"),
        pytest.param(changed(ANSWER, team="t" * 65), None, "out_of_range", id="long-team"),
        pytest.param(
            changed(REPLY, created_at=iso(T0 + 1)), None, "out_of_range", id="reply-before-created"
        ),
        pytest.param(
            changed(VALID[9], created_at=iso(T0 + 60)), None, "out_of_range", id="solve-before"
        ),
        pytest.param(
            changed(ANSWER, occurred_at="2026-11-02T10:00:00"), None, "naive_timestamp", id="naive"
        ),
        pytest.param(
            changed(REPLY, created_at="2026-11-01T10:00:00"), None, "naive_timestamp", id="naive-2"
        ),
    ],
)
def test_dead_letter_reasons(message: Any, topic: str | None, reason: str) -> None:
    found = letter(message, topic)
    assert found.reason == reason
    assert found.reason in REASONS
    assert found.detail


@pytest.mark.parametrize(
    ("occurred_at", "reason"),
    [
        (1762041600, "wrong_type"),  # epoch seconds, not RFC 3339
        ("2026-02-30T10:00:00Z", "wrong_type"),  # no such day
        ("2026-11-02T23:59:60Z", "wrong_type"),  # leap second
        ("2026-11-02T10:00Z", "wrong_type"),  # no seconds
        ("2026-11-02T10:00:00+24:00", "wrong_type"),  # offset of a day
        ("0000-01-01T00:00:00Z", "wrong_type"),  # year 0
        ("1969-12-31T23:59:59Z", "out_of_range"),
        ("1970-01-01T00:30:00+01:00", "out_of_range"),  # 1969 in UTC
        ("3000-01-01T00:00:00Z", "out_of_range"),
        ("2026-11-02T10:00:00.5", "naive_timestamp"),
    ],
)
def test_timestamps_are_real_instants_in_range(occurred_at: Any, reason: str) -> None:
    found = letter(changed(ANSWER, occurred_at=occurred_at))
    assert (found.reason, found.detail.split(":")[0]) == (reason, "occurred_at")


def test_oversize_is_checked_before_parsing() -> None:
    message = orjson.dumps(ANSWER)
    assert isinstance(
        Decoder("cc.contacts", len(message)).decode(message)[0], models.ContactAnswered
    )
    found = Decoder("cc.contacts", len(message) - 1).decode(message)
    assert found == DeadLetter("oversize", f"{len(message)} bytes > {len(message) - 1}")


def test_record_keeps_utf8_raw_as_text() -> None:
    message = '{"team": "équipe"'.encode()
    found = letter(message)
    record = found.record("cc.contacts", 3, 17, message)
    assert record == {
        "reason": "not_json",
        "detail": found.detail,
        "topic": "cc.contacts",
        "partition": 3,
        "offset": 17,
        "raw": '{"team": "équipe"',
    }
    assert orjson.loads(orjson.dumps(record))["raw"] == '{"team": "équipe"'


def test_record_keeps_binary_raw_as_base64() -> None:
    message = b"\xff\xfe\x00\x01binary"
    record = letter(message).record("cc.tickets", 0, 0, message)
    assert record["reason"] == "invalid_utf8"
    assert record["raw"].startswith("base64:")
    assert base64.b64decode(record["raw"].removeprefix("base64:")) == message
    assert raw_text(b"") == ""


LEAKS = [
    pytest.param(changed(ANSWER, contact_id=SECRET, wait_seconds=-3), id="other-field-bad"),
    pytest.param(changed(ANSWER, contact_id=SECRET * 10), id="id-too-long"),
    pytest.param(changed(ANSWER, channel=SECRET), id="channel"),
    pytest.param(changed(ANSWER, wait_seconds=SECRET), id="wait"),
    pytest.param(changed(ANSWER, occurred_at=SECRET), id="timestamp"),
    pytest.param(changed(ANSWER, agent={"name": SECRET}), id="agent-object"),
    pytest.param(changed(REPLY, author=SECRET), id="author"),
    pytest.param(changed(NPS, score=SECRET), id="score"),
    pytest.param(orjson.dumps([SECRET]), id="list"),
    pytest.param(SECRET.encode() + b"\xff", id="binary"),
    pytest.param(b'{"contact_id": "' + SECRET.encode() + b'", ', id="truncated"),
    pytest.param(changed(ANSWER, type=SECRET), id="type-tag"),
    pytest.param(changed(VALID[14], criteria={SECRET: 101}), id="criteria-key"),
]


@pytest.mark.parametrize("message", LEAKS)
def test_detail_never_contains_input_values(message: Any) -> None:
    found = letter(message)
    assert SECRET not in found.detail
    assert "4711" not in found.detail


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(changed(ANSWER, wait_seconds="12"), id="number-as-string"),
        pytest.param(changed(ANSWER, wait_seconds=True), id="number-as-bool"),
        pytest.param(changed(VALID[14], score="80"), id="score-as-string"),
        pytest.param(changed(REPLY, public="yes"), id="bool-as-string"),
        pytest.param(changed(REPLY, public=1), id="bool-as-int"),
        pytest.param(changed(ANSWER, occurred_at=1793000000), id="timestamp-as-int"),
        pytest.param(changed(ANSWER, queue=7), id="string-as-int"),
    ],
)
def test_wrong_json_types_are_refused(message: Any) -> None:
    assert letter(message).reason == "wrong_type"


def test_timestamp_without_seconds_is_refused() -> None:
    letter(changed(ANSWER, occurred_at="2026-11-02T10:00+00:00"))


def test_nan_is_not_json() -> None:
    assert letter(orjson.dumps(ANSWER)[:-1] + b', "extra": NaN}').reason == "not_json"
    assert letter(orjson.dumps(ANSWER)[:-1] + b', "extra": -Infinity}').reason == "not_json"


def test_nan_inside_a_string_is_fine() -> None:
    named = orjson.loads(orjson.dumps(ANSWER))
    named["agent"] = "NaNa Infinity"
    assert not isinstance(decode(orjson.dumps(named)), DeadLetter)
