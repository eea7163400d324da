"""A memoised partitioner for keys that repeat (aggregate keys, every publish interval)."""

from __future__ import annotations

from aiokafka.partitioner import DefaultPartitioner


class CachedPartitioner:
    """aiokafka's default (murmur2) partitioner, memoised.

    Aggregate keys repeat at every publish interval and murmur2 is pure Python
    (about 11 us a key, 9 % of a worker's CPU on simulated traffic: docs/performance.md).
    The first ``size`` keys are kept (about 300 bytes each); keys beyond that are hashed
    every time, which bounds the memory where scopes run into the hundreds of thousands.
    """

    def __init__(self, size: int = 20_000) -> None:
        self._cache: dict[tuple[bytes, int], int] = {}
        self._size = size

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            return int(DefaultPartitioner()(key, all_partitions, available))
        cache_key = (key, len(all_partitions))
        found = self._cache.get(cache_key)
        if found is None:
            found = int(DefaultPartitioner()(key, all_partitions, available))
            if len(self._cache) < self._size:
                self._cache[cache_key] = found
        return found
