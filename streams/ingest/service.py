"""Start and stop the ingest service: spool, forwarder, aiohttp site; SIGTERM as Ctrl-C.

Stopping: the site stops accepting, requests in flight finish (each answered only
once durable), the forwarder gets a few seconds to send what is spooled, and what
is left stays fsynced in the spool for the next start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CollectorRegistry

from streams.config import AppConfig
from streams.ingest.durable import Durable
from streams.ingest.metrics import IngestMetrics
from streams.ingest.routes import Routes
from streams.ingest.spool import Spool
from streams.settings import Settings

log = logging.getLogger(__name__)
SHUTDOWN_SECONDS = 10.0


class IngestService:
    """One ingest process: its spool, producer, forwarder and web site."""

    def __init__(
        self,
        settings: Settings,
        config: AppConfig,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = IngestMetrics(registry or CollectorRegistry())
        self.spool = Spool(settings.ingest_spool_dir)
        self.durable = Durable(settings, self.spool, self.metrics)
        extra = {"clock": clock} if clock is not None else {}
        self.routes = Routes(settings, config, self.durable, self.metrics, **extra)
        self.app = web.Application(client_max_size=settings.max_message_bytes * 100)
        self.routes.add_to(self.app)
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    async def start(self) -> IngestService:
        self.spool.open()
        try:
            await self.durable.start()
            # Requests in flight get SHUTDOWN_SECONDS to finish (each waits at most the
            # broker timeout, then the spool): well inside a pod's 30 s grace period.
            self.runner = web.AppRunner(
                self.app,
                access_log=None,
                handle_signals=False,
                shutdown_timeout=SHUTDOWN_SECONDS,
            )
            await self.runner.setup()
            site = web.TCPSite(
                self.runner, self.settings.web_bind, self.settings.ingest_port, reuse_address=True
            )
            await site.start()
        except BaseException:
            await self.stop()
            raise
        server = site._server  # noqa: SLF001 - aiohttp names no public way to the bound port
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1]) if sockets else self.settings.ingest_port
        return self

    async def stop(self, drain_seconds: float = 5.0) -> None:
        runner, self.runner = self.runner, None
        if runner is not None:
            await runner.cleanup()
        await self.durable.stop(drain_seconds)
        self.spool.close()


async def serve(settings: Settings, config: AppConfig, ready: Callable[[int], None]) -> None:
    """Run until SIGTERM or SIGINT, then stop cleanly."""
    service = await IngestService(settings, config).start()
    assert service.port is not None  # noqa: S101 - set by start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ready(service.port)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(sig)
        log.info("stopping the ingest service")
        await service.stop()
