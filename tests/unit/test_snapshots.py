"""Snapshots: what is loaded equals what was written, chunked or not."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from streams.kpi.ingest import PartitionState
from streams.pipeline import snapshots
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch

States = dict[str, PartitionState]


@pytest.fixture(scope="module")
def traffic() -> tuple[Runtime, States]:
    """A runtime whose merger holds a day of simulated traffic, and the resume states."""
    runtime = Runtime(load_settings(topic_prefix="unit."))
    events = simulate_batch(datetime(2026, 11, 2, 6, tzinfo=UTC), seed=5, count=6000, rate=0.5)
    states: States = {}
    for n, (topic, _key, value) in enumerate(events):
        source = f"unit.{topic}:0"
        state = states.get(source) or states.setdefault(source, runtime.source_state(source))
        result = state.fold([(n, orjson.dumps(value))])
        partial = encode_partial(state, result)
        runtime.merger.apply(source, orjson.loads(partial[: partial.index(b"\n")]))
    return runtime, states


@pytest.fixture(scope="module")
def folded(traffic: tuple[Runtime, States]) -> Runtime:
    return traffic[0]


def _load(values: list[bytes], runtime: Runtime) -> snapshots.Loader:
    loader = snapshots.Loader(runtime.merger, runtime.checkpoints, runtime.source_state)
    done = [loader.add(value) for value in values]
    assert done == [False] * (len(values) - 1) + [True]
    return loader


def test_a_loaded_merger_has_the_same_windows_values_and_watermarks(folded: Runtime) -> None:
    merger = folded.merger
    assert merger.windows, "the simulated traffic should have opened windows"
    values = snapshots.encode("s1", 42, merger, {})
    fresh_runtime = Runtime(load_settings(topic_prefix="unit."))
    loader = _load(values, fresh_runtime)
    fresh = fresh_runtime.merger
    assert loader.read == 42 and loader.windows == len(merger.windows)
    assert fresh.windows == merger.windows
    assert fresh.watermarks == merger.watermarks
    assert fresh.global_watermark == merger.global_watermark
    assert fresh.finalized == merger.finalized
    assert fresh.certifications == merger.certifications
    for window in merger.windows:
        assert sorted(map(repr, fresh.values(window))) == sorted(map(repr, merger.values(window)))
        assert fresh.dirty[window] == set(merger.windows[window])


def test_resume_states_come_back_through_the_book_with_their_offsets(
    traffic: tuple[Runtime, States],
) -> None:
    folded, states = traffic
    assert any(state.tickets for state in states.values()), "reply memory should be exercised"
    sources = {source: (state, 7) for source, state in states.items()}
    fresh = Runtime(load_settings(topic_prefix="unit."))
    _load(snapshots.encode("s1", 3, folded.merger, sources), fresh)
    for source, state in states.items():
        fresh.checkpoints.observe(source, 7, b"not even JSON: offset 7 is included")
        rebuilt = fresh.checkpoints.take(source)
        state.restored()
        assert rebuilt.next_offset == state.next_offset
        assert rebuilt.watermark == state.watermark
        assert rebuilt.seen == state.seen
        assert rebuilt.seen.items() == state.seen.items()
        assert {t: m.to_json() for t, m in rebuilt.tickets.items()} == {
            t: m.to_json() for t, m in state.tickets.items()
        }


def test_a_big_state_is_cut_into_chunks_and_other_snapshots_chunks_are_ignored(
    folded: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshots, "CHUNK_BYTES", 20_000)
    mine = snapshots.encode("a", 9, folded.merger, {})
    other = snapshots.encode("b", 9, folded.merger, {})
    assert len(mine) > 3
    for value in mine:
        body = value[value.index(b"\n") + 1 :]
        # A chunk stays under the size unless it holds one item bigger than that.
        assert len(body) <= 20_000 + 2 or len(orjson.loads(body)) == 1
    fresh = Runtime(load_settings(topic_prefix="unit."))
    loader = snapshots.Loader(fresh.merger, fresh.checkpoints, fresh.source_state)
    done = []
    for n, value in enumerate(mine):
        done.append(loader.add(value))
        if n == 1:
            assert loader.add(other[2]) is False  # an older snapshot's chunk in between
    assert done[-1] and not any(done[:-1])
    assert fresh.merger.windows == folded.merger.windows


def test_a_loader_refuses_to_start_inside_a_snapshot_or_skip_a_chunk(
    folded: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshots, "CHUNK_BYTES", 20_000)
    values = snapshots.encode("a", 9, folded.merger, {})
    fresh = Runtime(load_settings(topic_prefix="unit."))
    with pytest.raises(ValueError, match="first chunk"):
        snapshots.Loader(fresh.merger, fresh.checkpoints, fresh.source_state).add(values[1])
    loader = snapshots.Loader(fresh.merger, fresh.checkpoints, fresh.source_state)
    loader.add(values[0])
    with pytest.raises(ValueError, match="out of order"):
        loader.add(values[2])
