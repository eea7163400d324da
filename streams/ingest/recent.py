"""A bounded memory of recently seen keys (delivery ids, event ids), least recent dropped."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable


class Recent:
    """The last ``capacity`` keys added; ``in`` does not refresh a key, :meth:`add` does.

    Only a shortcut: across replicas and restarts the worker's own event-id dedup is
    what makes a repeat count once."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._keys: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def add(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._keys[key] = None
            self._keys.move_to_end(key)
        while len(self._keys) > self.capacity:
            self._keys.popitem(last=False)
