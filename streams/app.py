"""The one Faust app. Everything else registers on it; nothing here computes a KPI.

``faust -A streams.app worker`` and ``cckpi worker`` run the same app. Settings
are read once, here, from the environment (``CCKPI_*``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust
import mode
import prometheus_client
from aiokafka import AIOKafkaProducer
from prometheus_client import CONTENT_TYPE_LATEST

from streams import kafka_compat
from streams.pipeline.batching import PARTITIONER
from streams.pipeline.ingest import IngestService
from streams.pipeline.publish import PublishService
from streams.pipeline.runtime import Runtime
from streams.settings import Settings, load_settings
from streams.topics import BREACHES, declare_topics
from streams.web import install_board

log = logging.getLogger(__name__)
STOP_SECONDS = 10
"""How long a stopping worker waits for its pipeline to close its Kafka clients."""


@dataclass
class Worker:
    """The Faust app with the runtime it wires."""

    app: faust.App
    runtime: Runtime
    services: tuple[IngestService, PublishService] | None = None


def create_worker(settings: Settings) -> Worker:
    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]
    kafka_compat.install()  # Faust's consumer thread and its stop may close one connection
    runtime = Runtime(settings)
    # Faust creates its data directory without parents: run/ does not exist in a clone.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")],
        web_port=settings.web_port,
        web_bind=settings.web_bind,
        web_host=settings.web_bind,
        datadir=str(settings.data_dir),
        store="memory://",
        topic_partitions=1,
        topic_allow_declare=True,
        topic_disable_leader=True,
        broker_session_timeout=6,
        broker_rebalance_timeout=10,
        broker_heartbeat_interval=1,
        producer_max_request_size=16 * 1024 * 1024,
        web_enabled=True,
        broker_credentials=faust_credentials(settings),
    )
    quiet = max(logging.INFO, logging.getLevelName(settings.log_level.upper()))
    logging.getLogger("aiokafka").setLevel(quiet)  # at DEBUG it logs message payloads
    worker = Worker(app, runtime)
    breaches = app.topic(settings.topic(BREACHES), value_serializer="json", partitions=1)

    @app.agent(breaches)
    async def breach_log(stream: Any) -> None:
        """Counts target transitions seen on the breaches topic (any worker may run it)."""
        async for record in stream:
            runtime.metrics.breach_transitions.labels(
                str(record.get("target", "")), str(record.get("state", ""))
            ).inc()

    async def pipeline() -> None:
        """Declare topics, then run ingest (stage one) and publishing (stage two)."""
        await declare_topics(settings)
        producer = AIOKafkaProducer(
            **settings.kafka_kwargs(),
            linger_ms=5,
            max_request_size=16 * 1024 * 1024,
            acks="all",
            max_batch_size=1024 * 1024,
            partitioner=PARTITIONER,  # the one the batches use: one hash cache
        )
        await producer.start()
        ingest = IngestService(runtime, producer)
        services = (ingest, PublishService(runtime, producer, ingest))
        worker.services = services
        try:
            await faust_gather(*(service.run() for service in services))
        finally:
            await producer.stop()

    app.add_dependency(PipelineService(pipeline))

    @app.page("/metrics")
    async def metrics(web: Any, request: Any) -> Any:
        return web.bytes(
            await runtime.exposition.scrape(), content_type=CONTENT_TYPE_LATEST.split(";")[0]
        )

    @app.page("/health")
    async def health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok", "publisher": runtime.publisher})

    if settings.web_board_enabled:
        follower = install_board(app, runtime)
        app.add_dependency(PipelineService(follower.run))

    return worker


class PipelineService(mode.Service):
    """Runs the pipeline as a child of the app, so it starts with the app's own clients.

    An ``@app.task`` would start only after Faust's own consumer group (used by
    the breach agent alone) has joined and recovered; after a crash that join
    waits out the dead member, which added about 20 s to every restart.
    """

    def __init__(self, run: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self._run = run
        self._task: asyncio.Future[None] | None = None

    async def on_start(self) -> None:
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Future[None]) -> None:
        """A pipeline that stops on its own is a crash: stop the worker, loudly."""
        if task.cancelled():
            return
        error = task.exception() or RuntimeError("the pipeline stopped")
        log.error("pipeline failed: %r; stopping the worker", error)
        asyncio.ensure_future(self.crash(error))

    async def on_stop(self) -> None:
        """Cancel the pipeline and let it close its clients before the loop closes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task


def faust_credentials(settings: Settings) -> Any:
    """The SASL/TLS settings in Faust's form, so its own clients connect like ours."""
    security = settings.kafka_security
    kwargs = security.aiokafka_kwargs()
    if security.protocol.startswith("SASL"):
        return faust.SASLCredentials(
            username=kwargs["sasl_plain_username"],
            password=kwargs["sasl_plain_password"],
            mechanism=kwargs["sasl_mechanism"],
            ssl_context=kwargs.get("ssl_context"),
        )
    if security.protocol == "SSL":
        return faust.SSLCredentials(kwargs["ssl_context"])
    return None


async def faust_gather(*coroutines: Any) -> None:
    """Run services together; the first to fail stops the others and re-raises."""
    tasks = [asyncio.ensure_future(c) for c in coroutines]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()
    finally:
        for task in tasks:
            task.cancel()
        # Wait for them to unwind (their clients close in their own ``finally``):
        # a loop closed before that logs "Unclosed AIOKafkaConsumer". Bounded, so a
        # client stuck on a broker that is gone does not hold the stop.
        _, pending = await asyncio.wait(tasks, timeout=STOP_SECONDS)
        if pending:
            log.warning("%d pipeline tasks still stopping after %d s", len(pending), STOP_SECONDS)


worker = create_worker(load_settings())
app = worker.app
