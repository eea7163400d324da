"""A partial written twice is merged once.

A producer whose send reached the broker but whose acknowledgement did not (the
broker died in between) sends the record again: the partials topic then holds
the same partial twice (seen on Apache Kafka SIGKILLed mid-run, where it added
about 650 contacts to one day). Stage one folds each input offset once, so the
``next`` offset a partial carries identifies the input it covers.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.kpi.merge import Merger
from streams.pipeline import snapshots
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings
from streams.simulate.runner import simulate_batch
from tests.unit.kpi_helpers import values

Record = tuple[str, dict[str, Any]]


def _partials(count: int, batch: int, seed: int) -> list[Record]:
    """Simulated traffic folded as the worker folds it: batches per source partition,
    each written as its real partials record; the merger headers in write order."""
    runtime = Runtime(load_settings(topic_prefix="unit."))
    events = simulate_batch(datetime(2026, 11, 2, 6, tzinfo=UTC), seed=seed, count=count, rate=0.5)
    pending: dict[str, list[tuple[int, bytes]]] = {}
    offsets: dict[str, int] = {}
    states = {}
    out: list[Record] = []

    def flush(source: str) -> None:
        state = states.get(source) or states.setdefault(source, runtime.source_state(source))
        record = encode_partial(state, state.fold(pending.pop(source)))
        out.append((source, orjson.loads(record[: record.index(b"\n")])))

    for topic, key, value in events:
        source = f"unit.{topic}:{zlib.crc32(str(key).encode()) % 2}"
        offset = offsets.get(source, 0)
        offsets[source] = offset + 1
        pending.setdefault(source, []).append((offset, orjson.dumps(value)))
        if len(pending[source]) == batch:
            flush(source)
    for source in list(pending):
        flush(source)
    return out


PARTIALS = _partials(count=3000, batch=40, seed=11)


def _merger() -> Merger:
    return Runtime(load_settings(topic_prefix="unit.")).merger


def _merged(records: list[Record]) -> tuple[Merger, list[bool]]:
    merger = _merger()
    applied = [merger.apply(source, dict(header)) for source, header in records]
    return merger, applied


ONCE, _ = _merged(PARTIALS)


def test_the_traffic_spans_sources_and_windows() -> None:
    assert len({source for source, _ in PARTIALS}) >= 6
    assert len(PARTIALS) > 60
    assert len(ONCE.windows) > 4
    assert all(header["next"] is not None for _, header in PARTIALS)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=len(PARTIALS), max_size=len(PARTIALS)))
def test_partials_repeated_right_after_themselves_change_no_value(repeats: list[int]) -> None:
    delivered: list[Record] = []
    for record, extra in zip(PARTIALS, repeats, strict=True):
        delivered.extend([record] * (1 + extra))
    merger, applied = _merged(delivered)
    assert values(merger) == values(ONCE)
    assert merger.watermarks == ONCE.watermarks
    assert applied.count(False) == sum(repeats)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_a_repeat_behind_other_sources_partials_is_still_merged_once(data: st.DataObject) -> None:
    """A resent produce batch holds the partials of several sources: each source's
    repeat comes after other sources' records, never after a later one of its own."""
    position = data.draw(st.integers(1, len(PARTIALS) - 1))
    source = PARTIALS[position - 1][0]
    later_own = next(
        (i for i in range(position, len(PARTIALS)) if PARTIALS[i][0] == source), len(PARTIALS)
    )
    at = data.draw(st.integers(position, later_own))
    delivered = [*PARTIALS[:at], PARTIALS[position - 1], *PARTIALS[at:]]
    merger, applied = _merged(delivered)
    assert values(merger) == values(ONCE)
    assert applied.count(False) == 1 and applied[at] is False


def test_a_partial_without_new_input_merges_nothing() -> None:
    """A consumer redelivers a batch after a rebalance: the fold skips every record
    and its partial repeats the last offset."""
    runtime = Runtime(load_settings(topic_prefix="unit."))
    events = simulate_batch(datetime(2026, 11, 2, 6, tzinfo=UTC), seed=3, count=200, rate=0.5)
    raws = [(n, orjson.dumps(value)) for n, (_topic, _key, value) in enumerate(events)]
    state = runtime.source_state("unit.cc.contacts:0")
    merger = runtime.merger
    first = encode_partial(state, state.fold(raws))
    again = encode_partial(state, state.fold(raws))
    assert merger.apply("unit.cc.contacts:0", orjson.loads(first.split(b"\n")[0]))
    before = values(merger)
    assert before
    assert not merger.apply("unit.cc.contacts:0", orjson.loads(again.split(b"\n")[0]))
    assert values(merger) == before


def test_records_without_an_offset_always_merge() -> None:
    """Partials written before ``next`` existed, and the history fold's headers."""
    source, header = PARTIALS[0]
    old = {k: v for k, v in header.items() if k != "next"}
    merger = _merger()
    assert merger.apply(source, dict(old)) and merger.apply(source, dict(old))
    single = _merger()
    single.apply(source, dict(old))
    assert values(merger) != values(single)


def test_after_the_input_logs_restart_low_offsets_merge_again() -> None:
    """The broker lost its data: the input logs restart at offset 0, and so do the
    offsets of the partials written for them."""
    source, header = PARTIALS[0]
    merger = _merger()
    assert merger.apply(source, dict(header))
    assert not merger.apply(source, dict(header))
    merger.input_logs_restarted()
    assert merger.apply(source, dict(header))


def test_a_snapshot_keeps_the_offsets_so_a_repeat_after_it_is_still_caught() -> None:
    half = len(PARTIALS) // 2
    merger, _ = _merged(PARTIALS[:half])
    assert merger.applied
    fresh_runtime = Runtime(load_settings(topic_prefix="unit."))
    loader = snapshots.Loader(
        fresh_runtime.merger, fresh_runtime.checkpoints, fresh_runtime.source_state
    )
    assert [loader.add(value) for value in snapshots.encode("s", 7, merger, {})][-1]
    fresh = fresh_runtime.merger
    assert fresh.applied == merger.applied
    assert not fresh.apply(*PARTIALS[half - 1])
    for source, header in PARTIALS[half:]:
        assert fresh.apply(source, dict(header))
    assert values(fresh) == values(ONCE)
