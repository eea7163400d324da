"""Snapshots: what is loaded equals what was written, chunked or not."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.pipeline import snapshots
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch


@pytest.fixture(scope="module")
def folded() -> Runtime:
    """A runtime whose merger and resume states hold a day of simulated traffic."""
    runtime = Runtime(load_settings(topic_prefix="unit."))
    events = simulate_batch(datetime(2026, 11, 2, 6, tzinfo=UTC), seed=5, count=6000, rate=0.5)
    states = {}
    for n, (topic, _key, value) in enumerate(events):
        source = f"unit.{topic}:0"
        state = states.get(source) or states.setdefault(source, runtime.source_state(source))
        result = state.fold([(n, orjson.dumps(value))])
        partial = encode_partial(state, result)
        runtime.merger.apply(source, orjson.loads(partial[: partial.index(b"\n")]))
    runtime.states = states  # type: ignore[attr-defined]
    return runtime


def test_a_loaded_merger_has_the_same_windows_values_and_watermarks(folded: Runtime) -> None:
    merger = folded.merger
    assert merger.windows, "the simulated traffic should have opened windows"
    data = orjson.loads(orjson.dumps(snapshots.merger_state(merger)))
    fresh = Runtime(load_settings(topic_prefix="unit.")).merger
    snapshots.load_merger(fresh, data)
    assert fresh.windows == merger.windows
    assert fresh.watermarks == merger.watermarks
    assert fresh.global_watermark == merger.global_watermark
    assert fresh.finalized == merger.finalized
    assert fresh.certifications == merger.certifications
    for window in merger.windows:
        assert sorted(map(repr, fresh.values(window))) == sorted(map(repr, merger.values(window)))
        assert fresh.dirty[window] == set(merger.windows[window])


def test_a_state_rebuilt_from_its_full_checkpoint_equals_the_live_one(folded: Runtime) -> None:
    states = folded.states  # type: ignore[attr-defined]
    assert any(state.tickets for state in states.values()), "reply memory should be exercised"
    for source, state in states.items():
        rebuilt = folded.source_state(source)
        rebuilt.restore(orjson.loads(orjson.dumps(snapshots.state_checkpoint(state))))
        assert rebuilt.next_offset == state.next_offset
        assert rebuilt.watermark == state.watermark
        assert rebuilt.seen == state.seen
        assert rebuilt.seen.items() == state.seen.items()
        assert {t: m.to_json() for t, m in rebuilt.tickets.items()} == {
            t: m.to_json() for t, m in state.tickets.items()
        }


@pytest.mark.parametrize("size", [0, 1, snapshots.CHUNK_BYTES, 2 * snapshots.CHUNK_BYTES + 5])
def test_chunks_reassemble_in_order_and_foreign_chunks_are_ignored(size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    mine = snapshots.chunks("a", data)
    other = snapshots.chunks("b", b"x" * 10)
    assembler = snapshots.Assembler()
    out = None
    for i, value in enumerate(mine):
        assert out is None
        out = assembler.add(value)
        if i == 0:
            assert assembler.add(other[0]) is None  # an older or newer snapshot's chunk
    assert out == data


def test_an_assembler_refuses_to_start_inside_a_snapshot() -> None:
    second = snapshots.chunks("a", b"y" * (snapshots.CHUNK_BYTES + 1))[1]
    with pytest.raises(ValueError, match="first chunk"):
        snapshots.Assembler().add(second)
