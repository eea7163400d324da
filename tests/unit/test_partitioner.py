"""The memoised partitioner picks exactly the partitions aiokafka's default would."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from hypothesis import given
from hypothesis import strategies as st

from streams.pipeline.partitioner import CachedPartitioner


@given(
    st.lists(st.binary(min_size=1, max_size=80), min_size=1, max_size=50),
    st.integers(min_value=1, max_value=12),
)
def test_same_partition_as_the_default_twice(keys: list[bytes], count: int) -> None:
    partitions = list(range(count))
    cached = CachedPartitioner(size=7)
    for key in keys + keys:
        assert cached(key, partitions, partitions) == DefaultPartitioner()(
            key, partitions, partitions
        )


def test_a_different_partition_count_is_a_different_answer() -> None:
    cached = CachedPartitioner()
    key = b"service_level_ratio|day|2026-11-02T00:00:00+00:00|"
    assert cached(key, [0, 1, 2, 3], [0, 1, 2, 3]) == DefaultPartitioner()(key, [0, 1, 2, 3], [])
    assert cached(key, [0], [0]) == 0
