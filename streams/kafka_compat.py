"""One fix to aiokafka (0.11 to 0.14), applied by the worker at import.

``AIOKafkaConnection.close`` checks ``self._reader``, closes the writer, then
clears the reader and cancels the read task, setting it to ``None``. Two threads
closing one connection at once (Faust's consumer runs aiokafka in a thread of its
own, and its stop can reach a connection from both sides) can both pass the
check; the second then calls ``None.done()`` and the thread dies printing an
``AttributeError`` traceback as the worker stops (seen in about one worker stop
in twenty). Closing is serialised here: the second closer finds the connection
closed and does nothing, as aiokafka intends.
"""

from __future__ import annotations

import threading
from typing import Any

from aiokafka.conn import AIOKafkaConnection

_LOCK = threading.RLock()
_original_close = AIOKafkaConnection.close


def _close(self: AIOKafkaConnection, reason: Any = None, exc: Any = None) -> Any:
    with _LOCK:
        return _original_close(self, reason=reason, exc=exc)


def install() -> None:
    """Idempotent: serialise every connection's ``close``."""
    if AIOKafkaConnection.close is not _close:
        AIOKafkaConnection.close = _close
