"""DedupMemory against a plain reference: an id is kept while its last acceptance is
within the horizon of the watermark of the last expiry (watermarks never go back)."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from streams.kpi.dedup import DedupMemory

HORIZON = 10.0


def run(steps: list[tuple[bool, int, float]]) -> None:
    memory = DedupMemory(HORIZON)
    reference: dict[str, float] = {}
    watermark = 0.0
    for expire, n, advance in steps:
        watermark += advance
        if expire:
            memory.expire(watermark)
            reference = {k: w for k, w in reference.items() if w >= watermark - HORIZON}
        else:
            event_id = f"e{n}"
            memory.remember(event_id, watermark)
            reference.pop(event_id, None)
            reference[event_id] = watermark
        assert memory.items() == list(reference.items())
    assert sorted(memory) == sorted(reference) and len(memory) == len(reference)
    assert all(event_id in memory for event_id in reference)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(0, 20), st.sampled_from([0.0, 0.5, 4.0, 11.0])))
)
def test_as_the_reference(steps: list[tuple[bool, int, float]]) -> None:
    run(steps)


def test_as_the_reference_past_compaction() -> None:
    """Long enough for expired acceptances to leave the lists many times."""
    rng = random.Random(7)
    steps = [
        (rng.random() < 0.2, rng.randrange(3000), rng.choice([0.0, 0.01, 0.3]))
        for _ in range(30_000)
    ]
    run(steps)
