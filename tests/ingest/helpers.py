"""Helpers of the ingest tests: an in-process service on a free port, signed posts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from streams.config import AppConfig, ChatwootConfig
from streams.ingest.service import IngestService
from streams.settings import Settings, load_settings
from tests.sources.chatwoot_builder import sign

TOKEN = "events-token-1"  # noqa: S105 - a test value
SECRET = "Jb3xK9Qm2Wp7Ls4Zr8Tv6Yh1"  # noqa: S105 - a test value
INBOX_TEAMS = {2: "website", 8: "social-desk"}


def ingest_settings(bootstrap: str, prefix: str, spool: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "kafka_bootstrap_servers": bootstrap,
        "topic_prefix": prefix,
        "ingest_port": 0,
        "ingest_tokens": f"{TOKEN},second-token",
        "chatwoot_secrets": f"old-webhook-secret,{SECRET}",
        "ingest_spool_dir": spool,
        "ingest_broker_timeout_seconds": 1.0,
    }
    values.update(overrides)
    return load_settings(**values)


@contextlib.asynccontextmanager
async def running(
    settings: Settings, wait_for_broker: bool = True, **kwargs: Any
) -> AsyncIterator[IngestService]:
    config = AppConfig(chatwoot=ChatwootConfig(inbox_teams=INBOX_TEAMS))
    service = await IngestService(settings, config, **kwargs).start()
    if wait_for_broker:
        assert await service.durable.wait_for_broker(15), "the ingest never reached the broker"
    try:
        yield service
    finally:
        await service.stop()


def url(service: IngestService, path: str) -> str:
    return f"http://127.0.0.1:{service.port}{path}"


async def post_chatwoot(
    session: aiohttp.ClientSession,
    target: str,
    body: bytes,
    delivery: str,
    secret: str = SECRET,
    timestamp: int | None = None,
) -> tuple[int, Any]:
    headers = sign(secret, int(time.time()) if timestamp is None else timestamp, body)
    headers["X-Chatwoot-Delivery"] = delivery
    async with session.post(target, data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read())


async def post_events(
    session: aiohttp.ClientSession, target: str, body: bytes, token: str | None = TOKEN
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    async with session.post(target, data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read())


def metric(service: IngestService, name: str, **labels: str) -> float:
    value = service.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value
