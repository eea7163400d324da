"""``agent.shift`` (v1.2 extension): decoding, the fold into the merger's staffed time, and
the snapshot that carries it across a restart."""

from __future__ import annotations

from typing import Any

import pytest

from streams.events.decode import DeadLetter, Decoder
from streams.pipeline import snapshots
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from tests.oracle.validation import Invalid, parse_event

from .kpi_helpers import HOUR_S, T0, Engine, ev, iso, raw


def shift(eid: str, agent: str, start: Any, end: Any, **kw: Any) -> dict[str, Any]:
    start = iso(start) if isinstance(start, int | float) else start
    end = iso(end) if isinstance(end, int | float) else end
    return ev("agent.shift", eid, T0, agent=agent, start=start, end=end, **kw)


@pytest.mark.parametrize(
    ("event", "reason", "field"),
    [
        (shift("s1", "ann", T0 + HOUR_S, T0), "out_of_range", "end: not after start"),
        (shift("s2", "ann", T0, T0), "out_of_range", "end: not after start"),
        (shift("s3", "ann", T0, T0 + 8 * 86400), "out_of_range", "end: more than 7 days"),
        (shift("s4", "ann", "2026-11-02T09:00:00", T0), "naive_timestamp", "start"),
        (shift("s5", "ann", T0, "2026-02-30T09:00:00+00:00"), "wrong_type", "end"),
        (shift("s6", "ann", T0, "9999-01-01T00:00:00+00:00"), "out_of_range", "end"),
        (
            {k: v for k, v in shift("s7", "ann", T0, T0 + 1).items() if k != "agent"},
            "missing_field",
            "agent",
        ),
    ],
)
def test_bad_shifts_are_dead_letters_with_a_reason(
    event: dict[str, Any], reason: str, field: str
) -> None:
    result = Decoder("cc.agents", 65536).decode(raw(event))
    assert isinstance(result, DeadLetter), result
    assert result.reason == reason and result.detail.startswith(field), result


def test_a_shift_on_another_topic_is_an_unknown_type() -> None:
    result = Decoder("cc.contacts", 65536).decode(raw(shift("s", "ann", T0, T0 + 1)))
    assert isinstance(result, DeadLetter) and result.reason == "unknown_type"


def test_shifts_fold_into_staffed_time_once_and_survive_a_snapshot() -> None:
    engine = Engine(grace=300)
    events = [
        shift("a", "ann", T0 + 8 * HOUR_S, T0 + 12 * HOUR_S),
        shift("b", "ann", T0 + 11 * HOUR_S, T0 + 16 * HOUR_S),  # overlaps a: one stretch
        shift("a", "ann", T0 + 8 * HOUR_S, T0 + 12 * HOUR_S),  # a repeat: dropped
        shift("c", "bob", T0 + 20 * HOUR_S, T0 + 22 * HOUR_S, team="sales"),
    ]
    results = engine.fold(events)
    assert results["cc.agents"].duplicates == 1
    shifts = engine.merger.shifts
    assert shifts.staffed("support", "ann", T0, T0 + 86400) == 8 * HOUR_S
    assert shifts.staffed("support", "ann", T0 + 10 * HOUR_S, T0 + 11 * HOUR_S) == HOUR_S
    assert shifts.staffed("sales", "bob", T0, T0 + 86400) == 2 * HOUR_S
    assert shifts.staffed("support", "bob", T0, T0 + 86400) is None
    restored = Runtime(load_settings(topic_prefix="unit."))
    loader = snapshots.Loader(restored.merger, restored.checkpoints, restored.source_state)
    values = snapshots.encode("s", 1, engine.merger, {})
    assert [loader.add(v) for v in values][-1] is True
    assert restored.merger.shifts.agents == shifts.agents


def test_the_decoder_agrees_with_the_oracle_on_shifts() -> None:
    cases = [
        shift("ok", "ann", T0, T0 + 8 * HOUR_S),
        shift("ok-week", "ann", T0, T0 + 7 * 86400),
        shift("back", "ann", T0 + HOUR_S, T0),
        shift("empty", "ann", T0, T0),
        shift("long", "ann", T0, T0 + 7 * 86400 + 1),
        shift("naive", "ann", "2026-11-02T09:00:00", T0),
        {k: v for k, v in shift("anon", "ann", T0, T0 + 1).items() if k != "agent"},
    ]
    decoder = Decoder("cc.agents", 65536)
    for event in cases:
        ours = decoder.decode(raw(event))
        theirs = parse_event("cc.agents", raw(event))
        assert isinstance(ours, DeadLetter) == isinstance(theirs, Invalid), (event, ours, theirs)
        if isinstance(ours, DeadLetter) and isinstance(theirs, Invalid):
            assert ours.reason == theirs.reason, (event, ours, theirs)
