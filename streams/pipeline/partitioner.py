"""Kafka's default (murmur2) partitioning, faster: a quicker hash and an LRU of recent keys.

The partition of a key must stay exactly what the Java client and aiokafka's
``DefaultPartitioner`` pick: aggregates go to a compacted topic, and a key that
moved partition would leave its old value behind for ever. So the hash here is
the same murmur2 (tests/unit/test_partitioner.py checks it against aiokafka's on
arbitrary bytes), only written to run fewer Python operations per word.
"""

from __future__ import annotations

import functools
import random
import struct

_unpack_from = struct.unpack_from


def murmur2(data: bytes) -> int:
    """Kafka's murmur2 of ``data``: the same value as ``aiokafka.partitioner.murmur2``.

    aiokafka's pure-Python version indexes every byte and masks after every
    operation (about 12 us for a 90-byte key). Here the 4-byte little-endian words
    are unpacked at once by ``struct`` and the masks that cannot change the low 32
    bits are left out: ``(a * m ^ b) & 0xFFFFFFFF`` has the same low 32 bits as
    the masked steps, because multiplication and xor never carry bits downward.
    The constants are literals so the loop reads no names (about 2.3x faster).
    """
    length = len(data)
    h = 0x9747B28C ^ length
    for word in _unpack_from(f"<{length >> 2}I", data):
        k = word * 0x5BD1E995 & 0xFFFFFFFF
        h = (h * 0x5BD1E995 ^ (k ^ k >> 24) * 0x5BD1E995) & 0xFFFFFFFF
    if length & 3:
        # The 1 to 3 trailing bytes, xored in little-endian as the Java code does one by one.
        tail = int.from_bytes(data[length & ~3 :], "little")
        h = (h ^ tail) * 0x5BD1E995 & 0xFFFFFFFF
    h ^= h >> 13
    h = h * 0x5BD1E995 & 0xFFFFFFFF
    return h ^ h >> 15


class CachedPartitioner:
    """aiokafka's default (murmur2) partitioner with the hashes of recent keys memoised.

    Aggregate keys repeat at every publish interval (and once more when their
    window is final), so most keys hash again within seconds; a replay keeps
    producing keys of new windows, so only *recent* keys are worth keeping. The
    last ``size`` keys' hashes are kept (least recently used dropped first; about
    165 bytes an entry with a 75-byte key, so about 17 MB at the default), and a
    miss costs the faster :func:`murmur2` (about 5 us instead of aiokafka's 12).
    The hash, not the partition, is cached, so one entry serves any partition count.

    Called like aiokafka's partitioners: ``(key, all_partitions, available)``.
    """

    def __init__(self, size: int = 100_000) -> None:
        self._hash = functools.lru_cache(maxsize=size)(murmur2)

    def cache_info(self) -> functools._CacheInfo:
        """Hits, misses and size of the hash cache (to check it is worth its memory)."""
        return self._hash.cache_info()

    def __call__(self, key: bytes | None, all_partitions: list[int], available: list[int]) -> int:
        if key is None:
            # As DefaultPartitioner: no key, any partition (an available one if known).
            return random.choice(available or all_partitions)  # noqa: S311 - not security
        return all_partitions[(self._hash(key) & 0x7FFFFFFF) % len(all_partitions)]
