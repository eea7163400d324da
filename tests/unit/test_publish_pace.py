"""The publish loop slows down while ingest catches up, and not otherwise."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest

from streams.pipeline import publish
from streams.pipeline.publish import PublishService
from streams.pipeline.runtime import Runtime
from streams.settings import load_settings


def _publishes(behind: int, seconds: float) -> int:
    runtime = Runtime(
        load_settings(topic_prefix="unit.", publish_interval_seconds=0.05, batch_max_records=100)
    )
    ingest = SimpleNamespace(behind=behind)
    service = PublishService(runtime, None, ingest)  # type: ignore[arg-type]
    calls = 0

    async def count() -> None:
        nonlocal calls
        calls += 1

    service.publish_once = count  # type: ignore[method-assign]

    async def run() -> None:
        service.caught_up.set()
        task = asyncio.ensure_future(service._publish_loop())  # noqa: SLF001
        await asyncio.sleep(seconds)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    return calls


def test_publishing_is_paced_by_the_interval_when_caught_up_and_stretched_when_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(publish, "CATCH_UP_INTERVAL", 0.5)
    caught_up = _publishes(behind=100, seconds=2.0)  # at the threshold: not behind
    behind = _publishes(behind=101, seconds=2.0)
    assert caught_up >= 10, f"every 0.05 s for 2 s should publish ~40 times, got {caught_up}"
    assert 2 <= behind <= 6, f"every 0.5 s for 2 s should publish ~4 times, got {behind}"
