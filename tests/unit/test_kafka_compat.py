"""Two threads closing one aiokafka connection at once: the second finds it closed."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from aiokafka.conn import AIOKafkaConnection

from streams import kafka_compat


class SlowWriter:
    """Closing takes long enough for a second closer to pass aiokafka's check."""

    def close(self) -> None:
        time.sleep(0.05)


class Reader:
    def at_eof(self) -> bool:
        return False


def _open_connection(loop: asyncio.AbstractEventLoop) -> AIOKafkaConnection:
    async def make() -> AIOKafkaConnection:
        return AIOKafkaConnection("127.0.0.1", 9)  # takes the running loop

    conn = loop.run_until_complete(make())
    conn._reader, conn._writer = Reader(), SlowWriter()  # as connect() leaves them
    conn._read_task = loop.create_future()  # the reader task, still running
    return conn


def _close_from_two_threads(conn: AIOKafkaConnection) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def close() -> None:
        start.wait()
        try:
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - the test reports it
            errors.append(exc)

    threads = [threading.Thread(target=close) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    return errors


@pytest.fixture
def loop() -> Any:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_aiokafkas_own_close_fails_when_two_threads_close_at_once(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race the fix is for, on aiokafka's unpatched ``close``."""
    monkeypatch.setattr(AIOKafkaConnection, "close", kafka_compat._original_close)
    errors = _close_from_two_threads(_open_connection(loop))
    assert [type(e) for e in errors] == [AttributeError]


def test_with_the_fix_the_second_closer_finds_it_closed(
    loop: asyncio.AbstractEventLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AIOKafkaConnection, "close", kafka_compat._original_close)
    kafka_compat.install()
    kafka_compat.install()  # idempotent
    conn = _open_connection(loop)
    task = conn._read_task
    assert _close_from_two_threads(conn) == []
    assert conn._reader is None and conn._writer is None
    assert task is not None and task.cancelled()
