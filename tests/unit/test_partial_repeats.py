"""A partial written twice is merged once.

A producer whose send reached the broker but whose acknowledgement did not (the
broker died in between) sends the record again: the partials topic then holds
the same partial twice (seen on Apache Kafka SIGKILLed mid-run, where it added
about 650 contacts to one day). Stage one folds each input offset once, so the
input offsets ``[first, next)`` a partial names tell a copy from a new batch, in
whatever order partials arrive.
"""

from __future__ import annotations

import itertools
import zlib
from datetime import UTC, datetime
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.kpi.covered import CoveredOffsets
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
    assert all(len(header["input"]) == 2 for _, header in PARTIALS)


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


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_partials_and_copies_in_any_order_change_no_value(data: st.DataObject) -> None:
    """Copies may come anywhere (after later partials of the same source too), and the
    partials themselves in any order: merging stays commutative."""
    copies = data.draw(st.lists(st.sampled_from(PARTIALS), max_size=20))
    delivered = data.draw(st.permutations([*PARTIALS, *copies]))
    merger, applied = _merged(delivered)
    assert values(merger) == values(ONCE)
    assert merger.global_watermark == ONCE.global_watermark
    assert applied.count(False) == len(copies)


def test_a_partial_without_new_input_merges_nothing() -> None:
    """A consumer redelivers a batch after a rebalance: the fold skips every record,
    and the partial covers no offset."""
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
    header = orjson.loads(again.split(b"\n")[0])
    assert header["input"] == [len(raws), len(raws)]
    merger.apply("unit.cc.contacts:0", header)
    assert values(merger) == before


def test_records_without_an_offset_always_merge() -> None:
    """Partials written before ``next`` existed, and the history fold's headers."""
    source, header = PARTIALS[0]
    old = {k: v for k, v in header.items() if k != "input"}
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
    assert merger.covered.items()
    fresh_runtime = Runtime(load_settings(topic_prefix="unit."))
    loader = snapshots.Loader(
        fresh_runtime.merger, fresh_runtime.checkpoints, fresh_runtime.source_state
    )
    assert [loader.add(value) for value in snapshots.encode("s", 7, merger, {})][-1]
    fresh = fresh_runtime.merger
    assert fresh.covered.items() == merger.covered.items()
    assert not fresh.apply(*PARTIALS[half - 1])
    for source, header in PARTIALS[half:]:
        assert fresh.apply(source, dict(header))
    assert values(fresh) == values(ONCE)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 12)), max_size=30))
def test_covered_offsets_agree_with_a_set_of_every_offset(spans: list[tuple[int, int]]) -> None:
    """Reference: the plain set of every offset added. A range is a repeat exactly when
    it is non-empty and every offset in it was added before."""
    covered = CoveredOffsets()
    seen: set[int] = set()
    for first, length in spans:
        offsets = set(range(first, first + length))
        repeat = bool(offsets) and offsets <= seen
        assert covered.add("s", first, first + length) is not repeat
        if not repeat:
            seen |= offsets
    ranges = covered.items().get("s", [])
    assert {o for low, high in ranges for o in range(low, high)} == seen
    assert all(a[1] < b[0] for a, b in itertools.pairwise(ranges)), "kept merged and sorted"
