"""The fold's dict validation against the models: the same input accepted, the same values.

The decoder validates for the fold into dicts (streams/events/records.py) and asks the
models only for refusals, so a message the dicts accept and the models refuse would
be an event counted that the contract refuses. Every valid event of test_decode, then
mutated field by field with hostile values, must get the same verdict from both.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from streams.events.models import TOPIC_EVENTS
from streams.events.records import record_adapter

from .kpi_helpers import topic_of
from .test_decode import VALID

MODELS = {topic: TypeAdapter(union) for topic, union in TOPIC_EVENTS.items()}
RECORDS = {topic: record_adapter(topic) for topic in TOPIC_EVENTS}

HOSTILE: list[Any] = [
    None,
    "",
    "x",
    "x" * 129,
    "ann",
    "agent",
    "customer",
    "2026-02-30T00:00:00Z",
    "2026-01-01T00:00:00",
    "2026-01-01T00:00:00Z",
    "voice",
    "contact.offered",
    "1",
    0,
    -1,
    1,
    5,
    9,
    11,
    36501,
    2**64,
    -0.0,
    0.5,
    1e308,
    10_000_001,
    True,
    False,
    [],
    [1],
    {},
    {"a": 1},
    {"k": 101},
]
FIELDS = sorted({name for event in VALID for name in event} | {"extra", "reason"})


def verdict(adapter: TypeAdapter[Any], raw: bytes) -> tuple[bool, dict[str, Any]]:
    """(accepted, the values with defaults filled in) or (refused, {})."""
    try:
        value = adapter.validate_json(raw)
    except ValidationError:
        return False, {}
    return True, dict(value) if isinstance(value, dict) else dict(value.__dict__)


def same(topic: str, raw: bytes) -> None:
    model_ok, model_values = verdict(MODELS[topic], raw)
    record_ok, record_values = verdict(RECORDS[topic], raw)
    assert record_ok == model_ok, raw
    for name, value in record_values.items():
        assert model_values[name] == value and type(model_values[name]) is type(value), name
    for name in set(model_values) - set(record_values):
        assert model_values[name] in (None, {}), name  # a default: the fold reads .get()


def test_valid_events() -> None:
    for event in VALID:
        same(topic_of(event), json.dumps(event).encode())


@given(
    st.sampled_from(VALID),
    st.lists(
        st.tuples(st.sampled_from(FIELDS), st.sampled_from([*HOSTILE, "<delete>"])), max_size=3
    ),
    st.sampled_from(list(TOPIC_EVENTS)),
)
@settings(max_examples=1000)
@example(VALID[7], [("agent", "<delete>")], "cc.tickets")
@example(VALID[7], [("agent", None)], "cc.tickets")
@example(VALID[8], [("author", "agent")], "cc.tickets")
def test_mutated_events(event: dict[str, Any], changes: list[tuple[str, Any]], topic: str) -> None:
    changed = dict(event)
    for name, value in changes:
        if value == "<delete>":
            changed.pop(name, None)
        else:
            changed[name] = value
    same(topic, json.dumps(changed).encode())


@given(st.binary(max_size=64) | st.text(max_size=64).map(str.encode))
def test_anything(raw: bytes) -> None:
    for topic in TOPIC_EVENTS:
        same(topic, raw)
