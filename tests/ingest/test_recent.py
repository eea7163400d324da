"""The bounded memory of recent ids against a plain list reference."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from streams.ingest.recent import Recent


@given(st.integers(1, 6), st.lists(st.lists(st.sampled_from("abcdefghij"), max_size=4)))
def test_remembers_exactly_the_last_distinct_keys(capacity: int, batches: list[list[str]]) -> None:
    recent = Recent(capacity)
    order: list[str] = []  # reference: most recent last, no repeats
    for batch in batches:
        recent.add(batch)
        for key in batch:
            if key in order:
                order.remove(key)
            order.append(key)
        kept = order[-capacity:]
        assert len(recent) == len(kept)
        assert all((key in recent) == (key in kept) for key in "abcdefghij")


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="capacity"):
        Recent(0)
