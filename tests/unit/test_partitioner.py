"""The faster partitioner picks exactly the partitions aiokafka's default (and Java's) would.

Aggregates go to a compacted topic: a key hashed differently would land on
another partition and leave its old value there, so equality is checked on
arbitrary bytes, not only on keys that look like ours.
"""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner
from aiokafka.partitioner import murmur2 as aiokafka_murmur2
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.pipeline.partitioner import CachedPartitioner, murmur2

# Apache Kafka's UtilsTest.testMurmur2: input -> the Java client's signed 32-bit hash.
JAVA_VECTORS = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


@settings(max_examples=2000)
@given(st.binary(min_size=0, max_size=300))
def test_murmur2_equals_aiokafkas_on_arbitrary_bytes(data: bytes) -> None:
    assert murmur2(data) == aiokafka_murmur2(data)


@given(st.binary(min_size=0, max_size=300))
def test_murmur2_of_bytearray_and_memoryview_equals_that_of_bytes(data: bytes) -> None:
    assert murmur2(bytearray(data)) == murmur2(memoryview(data)) == aiokafka_murmur2(data)


def test_murmur2_equals_the_java_clients_on_kafkas_own_vectors() -> None:
    for data, signed in JAVA_VECTORS.items():
        assert murmur2(data) == signed & 0xFFFFFFFF, data


def test_murmur2_of_every_prefix_length_of_an_aggregate_key() -> None:
    """Every remainder of the length by 4 (the tail handling) on a realistic key."""
    key = b"service_level_ratio|hour|2026-05-01T13:00:00+00:00|agent=a17,team=billing|clock=b"
    for end in range(len(key) + 1):
        assert murmur2(key[:end]) == aiokafka_murmur2(key[:end]), end


@given(
    st.lists(st.binary(min_size=0, max_size=300), min_size=1, max_size=50),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=3),
    st.integers(min_value=1, max_value=20),
)
def test_same_partition_as_the_default_with_hits_and_evictions(
    keys: list[bytes], counts: list[int], size: int
) -> None:
    """A small cache sees hits, evictions and one key under several partition counts."""
    cached = CachedPartitioner(size=size)
    for count in counts:
        partitions = list(range(count))
        for key in keys + keys[::-1]:
            assert cached(key, partitions, partitions) == DefaultPartitioner()(
                key, partitions, partitions
            )


def test_a_different_partition_count_is_a_different_answer() -> None:
    cached = CachedPartitioner()
    key = b"service_level_ratio|day|2026-11-02T00:00:00+00:00|"
    assert cached(key, [0, 1, 2, 3], [0, 1, 2, 3]) == DefaultPartitioner()(key, [0, 1, 2, 3], [])
    assert cached(key, [0], [0]) == 0


def test_recent_keys_stay_cached_and_the_cache_stays_bounded() -> None:
    """The old cache kept the first keys for ever; a replay's recent keys must hit."""
    cached = CachedPartitioner(size=100)
    partitions = [0, 1, 2, 3]
    for hour in range(1000):  # a replay: every hour window brings new keys
        cached(f"aht|hour|{hour}|team=billing".encode(), partitions, partitions)
    info = cached.cache_info()
    assert info.currsize == 100
    assert info.hits == 0
    for hour in range(950, 1000):
        cached(f"aht|hour|{hour}|team=billing".encode(), partitions, partitions)
    assert cached.cache_info().hits == 50


def test_a_key_less_record_goes_to_an_available_partition() -> None:
    cached = CachedPartitioner()
    assert {cached(None, [0, 1, 2, 3], [2]) for _ in range(20)} == {2}
    assert {cached(None, [0, 1], []) for _ in range(50)} <= {0, 1}
