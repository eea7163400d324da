"""The checkpoint book: resume states kept current from the partials the merger reads."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from streams.kpi.ingest import PartitionState
from streams.pipeline.checkpoints import CheckpointBook
from streams.pipeline.ingest import encode_partial
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings

SOURCE = "unit.cc.contacts:0"


def _offer(n: int) -> bytes:
    return orjson.dumps(
        {
            "type": "contact.offered",
            "event_id": f"e{n}",
            "contact_id": f"c{n}",
            "team": "support",
            "channel": "voice",
            "queue": "billing",
            "occurred_at": f"2026-11-02T09:{n // 60:02d}:{n % 60:02d}+00:00",
        }
    )


def _checkpoints(runtime: Runtime, batches: list[range]) -> tuple[PartitionState, list[bytes]]:
    """Fold ``batches`` of offers into a live state; the checkpoint part of each partial."""
    state = runtime.source_state(SOURCE)
    written = []
    for batch in batches:
        result = state.fold((n, _offer(n)) for n in batch)
        partial = encode_partial(state, result)
        written.append(partial[partial.index(b"\n") + 1 :])
    return state, written


def _same(a: PartitionState, b: PartitionState) -> bool:
    return (a.next_offset, a.watermark, sorted(a.seen)) == (
        b.next_offset,
        b.watermark,
        sorted(b.seen),
    )


@pytest.fixture
def runtime() -> Runtime:
    return Runtime(load_settings(topic_prefix="unit."))


def test_a_source_taken_from_the_book_equals_the_state_that_wrote_its_partials(
    runtime: Runtime,
) -> None:
    live, written = _checkpoints(runtime, [range(0, 5), range(5, 12), range(12, 13)])
    book = CheckpointBook(runtime.source_state)
    for offset, checkpoint in enumerate(written):
        book.observe(SOURCE, offset, checkpoint)
    taken = book.take(SOURCE)
    assert taken.next_offset == 13
    assert _same(taken, live)
    # A source nobody wrote for starts empty.
    other = book.take("unit.cc.contacts:1")
    assert other.next_offset is None and len(other.seen) == 0


def test_an_owned_source_is_not_observed_and_a_released_one_skips_what_it_includes(
    runtime: Runtime,
) -> None:
    live, written = _checkpoints(runtime, [range(0, 4), range(4, 8), range(8, 10)])
    book = CheckpointBook(runtime.source_state)
    book.take(SOURCE)
    book.observe(SOURCE, 0, written[0])  # owned: the live state is authoritative
    # Revoked after writing the first two partials (offsets 0 and 1 of the partials log).
    first_two = runtime.source_state(SOURCE)
    for checkpoint in written[:2]:
        first_two.restore(orjson.loads(checkpoint))
    book.release(SOURCE, first_two, included=1)
    for offset, checkpoint in enumerate(written):  # the merger reaches them only now
        book.observe(SOURCE, offset, checkpoint)
    taken = book.take(SOURCE)
    assert taken is first_two
    assert _same(taken, live)


def test_a_restarted_partials_log_drops_the_states_and_waits_for_a_new_read(
    runtime: Runtime,
) -> None:
    _, written = _checkpoints(runtime, [range(0, 3)])

    async def scenario() -> tuple[bool, int | None]:
        book = CheckpointBook(runtime.source_state)
        book.observe(SOURCE, 7, written[0])
        book.advance(8)
        await asyncio.wait_for(book.wait_read(5), 1)  # read past 5 already
        book.log_restarted()
        waiter = asyncio.ensure_future(book.wait_read(0))
        await asyncio.sleep(0.05)
        blocked = not waiter.done()
        book.restart_pending = False  # what the merger does before re-reading
        book.advance(1)
        await asyncio.wait_for(waiter, 1)
        return blocked, book.take(SOURCE).next_offset

    blocked, next_offset = asyncio.run(scenario())
    assert blocked, "wait_read returned before the merger re-read the new log"
    assert next_offset is None, "a state of the lost log survived the restart"
