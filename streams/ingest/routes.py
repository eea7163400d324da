"""The ingest's HTTP routes: authenticate, limit, parse, map, validate, make durable, answer.

Thin on purpose: credentials are :mod:`streams.ingest.auth`, the Chatwoot mapping
:mod:`streams.sources.chatwoot`, validation :class:`~streams.sources.sink.Checker`,
durability :class:`~streams.ingest.durable.Durable`. Logs name routes, reasons,
counts and Chatwoot delivery ids, never a body, a header value or a field of an event.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from streams.config import AppConfig
from streams.errors import IngestError, SpoolError
from streams.events.decode import DeadLetter
from streams.ingest.auth import bearer_ok, chatwoot_header_refusal, chatwoot_refusal
from streams.ingest.durable import Durable
from streams.ingest.metrics import IngestMetrics
from streams.ingest.recent import Recent
from streams.settings import Settings
from streams.sources.chatwoot import map_delivery
from streams.sources.sink import Checked, Checker

log = logging.getLogger(__name__)

EVENTS_ROUTE = "/ingest/v1/events"
CHATWOOT_ROUTE = "/ingest/v1/chatwoot"
RECENT_DELIVERIES = 50_000
RECENT_EVENTS = 50_000
"""Delivery ids and event ids remembered (about 10 MB together): enough for Sidekiq's
retries and the doubled status deliveries, which follow within seconds; beyond that,
and across replicas, the worker's event-id dedup makes a repeat count once."""
YIELD_EVERY = 500
"""Events validated between two yields to the event loop (about 15 ms of work)."""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(IngestError):
    """A request refused as a whole: its status, reason (a metric label) and message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.status, self.reason, self.message = status, reason, message


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


class Routes:
    """The handlers and what they share (one instance per process)."""

    def __init__(
        self,
        settings: Settings,
        config: AppConfig,
        durable: Durable,
        metrics: IngestMetrics,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.durable = durable
        self.metrics = metrics
        self.clock = clock
        self.max_body = settings.max_message_bytes * 100
        self.checker = Checker(settings.max_message_bytes)
        self.tokens = [t.get_secret_value().encode() for t in settings.ingest_tokens]
        self.secrets = [s.get_secret_value().encode() for s in settings.chatwoot_secrets]
        self.inbox_teams = dict(config.chatwoot.inbox_teams)
        self.deliveries = Recent(RECENT_DELIVERIES)
        self.event_ids = Recent(RECENT_EVENTS)

    def add_to(self, app: web.Application) -> None:
        app.middlewares.append(self._measured)
        app.router.add_post(EVENTS_ROUTE, self.events)
        app.router.add_post(CHATWOOT_ROUTE, self.chatwoot)
        app.router.add_get("/health", self.health)
        app.router.add_get("/ready", self.ready)
        app.router.add_get("/metrics", self.metrics_page)

    @web.middleware
    async def _measured(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        route = request.match_info.route.resource
        name = route.canonical if route is not None else "other"
        started = time.perf_counter()
        try:
            response = await handler(request)
        except Refused as refused:
            self.metrics.of(self.metrics.rejections, name, refused.reason).inc()
            response = _json({"error": refused.message, "reason": refused.reason}, refused.status)
        except web.HTTPException as exc:
            self.metrics.of(self.metrics.requests, name, str(exc.status)).inc()
            raise
        self.metrics.of(self.metrics.requests, name, str(response.status)).inc()
        self.metrics.of(self.metrics.latency, name).observe(time.perf_counter() - started)
        return response

    async def _body(self, request: web.Request) -> bytes:
        length = request.content_length
        if length is not None and length > self.max_body:
            raise Refused(413, "too_large", f"body over {self.max_body} bytes")
        try:
            return await request.read()
        except web.HTTPRequestEntityTooLarge as exc:
            raise Refused(413, "too_large", f"body over {self.max_body} bytes") from exc

    @staticmethod
    def _parse(body: bytes) -> Any:
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise Refused(400, "not_json", "the body is not a JSON document") from exc

    async def _store(self, route: str, checked: Sequence[Checked]) -> list[Checked]:
        """Make the events not seen lately durable; the repeats, which are left out."""
        fresh: list[Checked] = []
        repeats: list[Checked] = []
        seen: set[str] = set()
        for event in checked:
            if event.event_id in self.event_ids or event.event_id in seen:
                repeats.append(event)
            else:
                seen.add(event.event_id)
                fresh.append(event)
        try:
            await self.durable.store(fresh)
        except SpoolError as exc:
            log.error("%s: cannot make %d events durable: %s", route, len(fresh), exc)
            raise Refused(503, "unavailable", "neither the broker nor the spool") from exc
        self.event_ids.add(seen)
        self.metrics.of(self.metrics.events, route, "accepted").inc(len(fresh))
        if repeats:
            self.metrics.of(self.metrics.events, route, "duplicate").inc(len(repeats))
        return repeats

    def _invalid(self, route: str, dead: DeadLetter) -> None:
        self.metrics.of(self.metrics.events, route, "invalid").inc()
        self.metrics.of(self.metrics.invalid, route, dead.reason).inc()

    # ------------------------------------------------------------------ routes

    async def events(self, request: web.Request) -> web.Response:
        """Contract events, one or an array, with a bearer token; one result per event."""
        if not bearer_ok(request.headers.get("Authorization"), self.tokens):
            raise Refused(401, "unauthorized", "a valid bearer token is required")
        parsed = self._parse(await self._body(request))
        if isinstance(parsed, Mapping):
            items: list[Any] = [parsed]
        elif isinstance(parsed, list):
            items = parsed
        else:
            raise Refused(400, "not_event", "the body is not an event object or an array of them")
        results: list[dict[str, Any]] = []
        accepted: list[Checked] = []
        for number, item in enumerate(items, 1):
            if number % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # a large array does not hold up other requests
            outcome = self.checker.check(item) if isinstance(item, Mapping) else None
            event_id = item.get("event_id") if isinstance(item, Mapping) else None
            if isinstance(outcome, Checked):
                accepted.append(outcome)
                results.append({"event_id": outcome.event_id, "status": "accepted"})
                continue
            dead = outcome or DeadLetter("not_object", "message: not a JSON object")
            self._invalid(EVENTS_ROUTE, dead)
            results.append(
                {
                    "event_id": event_id if isinstance(event_id, str) else None,
                    "status": "invalid",
                    "reason": dead.reason,
                    "detail": dead.detail,
                }
            )
        repeats = {event.event_id for event in await self._store(EVENTS_ROUTE, accepted)}
        for result in results:
            if result["status"] == "accepted" and result["event_id"] in repeats:
                result["duplicate"] = True
        return _json({"results": results})

    async def chatwoot(self, request: web.Request) -> web.Response:
        """A Chatwoot webhook delivery, signed with one of the configured secrets."""
        headers = request.headers
        signature = headers.get("X-Chatwoot-Signature")
        timestamp = headers.get("X-Chatwoot-Timestamp")
        now = self.clock()
        refusal = chatwoot_header_refusal(signature, timestamp, self.secrets, now)
        body = b""
        if refusal is None:  # only then is the body worth reading
            body = await self._body(request)
            refusal = chatwoot_refusal(signature, timestamp, body, self.secrets, now)
        if refusal is not None:
            raise Refused(401, refusal, "not a genuine Chatwoot delivery")
        delivery = headers.get("X-Chatwoot-Delivery", "")[:128] or None
        if delivery is not None and delivery in self.deliveries:
            self.metrics.of(self.metrics.skipped, "duplicate_delivery").inc()
            return _json({"delivery": delivery, "duplicate": True, "results": []})
        mapped = map_delivery(self._parse(body), self.inbox_teams)
        if mapped.skipped is not None:
            self.metrics.of(self.metrics.skipped, mapped.skipped).inc()
            log.debug("chatwoot delivery %s skipped: %s", delivery, mapped.skipped)
            if delivery is not None:
                self.deliveries.add([delivery])
            return _json(
                {
                    "delivery": delivery,
                    "skipped": mapped.skipped,
                    "detail": mapped.detail,
                    "results": [],
                }
            )
        results: list[dict[str, Any]] = []
        accepted: list[Checked] = []
        for event in mapped.events:
            outcome = self.checker.check(event)
            if isinstance(outcome, Checked):
                accepted.append(outcome)
                results.append(
                    {"event_id": outcome.event_id, "type": event["type"], "status": "accepted"}
                )
            else:
                self._invalid(CHATWOOT_ROUTE, outcome)
                log.warning(
                    "chatwoot delivery %s: %s event invalid: %s (%s)",
                    delivery,
                    event["type"],
                    outcome.reason,
                    outcome.detail,
                )
                results.append(
                    {
                        "event_id": event["event_id"],
                        "type": event["type"],
                        "status": "invalid",
                        "reason": outcome.reason,
                        "detail": outcome.detail,
                    }
                )
        repeats = {event.event_id for event in await self._store(CHATWOOT_ROUTE, accepted)}
        for result in results:
            if result["status"] == "accepted" and result["event_id"] in repeats:
                result["duplicate"] = True
        if delivery is not None:
            self.deliveries.add([delivery])
        return _json({"delivery": delivery, "results": results})

    async def health(self, request: web.Request) -> web.Response:
        return _json({"status": "ok"})

    async def ready(self, request: web.Request) -> web.Response:
        ok = self.durable.ready()
        body = {
            "ready": ok,
            "broker": self.durable.broker_up,
            "spool": self.durable.spool.writable(),
        }
        return _json(body, 200 if ok else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        return web.Response(
            body=generate_latest(self.metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )
