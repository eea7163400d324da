"""The board and the query API on the one Faust app's web server; routes stay thin.

Every worker answers from its own merger, which merges every partial, so any
worker shows the same KPI values; only the publisher exports the gauges and
evaluates targets as it publishes, so another worker evaluates its targets
from the same merger when asked (no breach record is published for that).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

import faust
import orjson

from streams.pipeline.runtime import Runtime
from streams.targets.evaluate import TargetBook, TargetState
from streams.web import views
from streams.web.auth import TokenCheck
from streams.web.follow import HistoryFollower
from streams.web.history import ordered
from streams.web.local_targets import LocalTargets
from streams.web.openapi import openapi
from streams.web.query import BadRequest, parse_history, parse_kpis, parse_plain

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
STATIC_TYPES = {
    "index.html": "text/html",
    "board.js": "text/javascript",
    "chart.js": "text/javascript",
    "board.css": "text/css",
    "favicon.svg": "image/svg+xml",
}
HISTORY_LIMIT = 100_000
"""Most windows one history answer holds (about 30 MB of JSON); a larger query is a 400."""
REFRESH_MS = 1000
"""How often the board polls the API: at most two seconds behind /metrics."""


def _static() -> dict[str, bytes]:
    folder = resources.files("streams.web") / "static"
    return {name: (folder / name).read_bytes() for name in STATIC_TYPES}


def _params(request: Any) -> dict[str, list[str]]:
    query = request.query
    return {name: query.getall(name) for name in query}


def register(app: faust.App, runtime: Runtime, follower: HistoryFollower) -> None:
    """Serve ``/``, ``/static/*`` and ``/api/v1/*`` on ``app`` (replacing Faust's index)."""
    _drop_faust_index(app)
    tokens = TokenCheck(runtime.settings.api_tokens)
    static = _static()
    store = follower.store

    def respond(web: Any, body: Any, status: int = 200, extra: dict[str, str] | None = None) -> Any:
        headers = {**SECURITY_HEADERS, **(extra or {})}
        return web.bytes(
            orjson.dumps(body), content_type="application/json", status=status, headers=headers
        )

    def denied(web: Any, request: Any) -> Any:
        if tokens.allows(request.headers, request.query):
            return None
        return respond(
            web,
            {"error": "a valid token is required (Authorization: Bearer or ?token=)"},
            401,
            {"WWW-Authenticate": "Bearer"},
        )

    def api(handler: Any) -> Any:
        async def view(web: Any, request: Any) -> Any:
            refused = denied(web, request)
            if refused is not None:
                return refused
            try:
                answer = handler(_params(request))
                if inspect.isawaitable(answer):
                    answer = await answer
                return respond(web, answer)
            except BadRequest as exc:
                return respond(web, {"error": str(exc)}, 400)

        view.__name__ = handler.__name__
        return view

    @app.page("/")
    async def board(web: Any, request: Any) -> Any:
        refused = denied(web, request)
        if refused is not None:
            return refused
        return web.bytes(static["index.html"], content_type="text/html", headers=SECURITY_HEADERS)

    @app.page("/static/{name}")
    async def assets(web: Any, request: Any, name: str) -> Any:
        if name not in static:
            return respond(web, {"error": f"no asset {name!r}"}, 404)
        return web.bytes(static[name], content_type=STATIC_TYPES[name], headers=SECURITY_HEADERS)

    def kpis(params: dict[str, list[str]]) -> dict[str, Any]:
        query = parse_kpis(params)
        return {"records": views.kpi_records(runtime.merger, query, datetime.now(UTC))}

    async def history(params: dict[str, list[str]]) -> dict[str, Any]:
        """Built a few thousand records at a time, letting the pipeline run between."""
        records: list[dict[str, Any]] = []
        since_yield = 0
        for part in store.select(parse_history(params), HISTORY_LIMIT):
            records += part.records()
            since_yield += part.size
            if since_yield >= 5000:
                since_yield = 0
                await asyncio.sleep(0)
        return {"records": ordered(records)}

    local = LocalTargets(
        lambda: TargetBook(runtime.config.targets, runtime.calendar),
        runtime.settings.publish_interval_seconds,
    )

    def targets(params: dict[str, list[str]]) -> dict[str, Any]:
        parse_plain(params)
        states: Iterable[TargetState]
        if runtime.publisher:
            local.forget()
            states = runtime.book.states.values()
        else:
            states = local.states(runtime.merger)
        return {"targets": views.target_rows(states, runtime.merger)}

    def certifications(params: dict[str, list[str]]) -> dict[str, Any]:
        parse_plain(params)
        return views.certifications(runtime.merger)

    def meta(params: dict[str, list[str]]) -> dict[str, Any]:
        parse_plain(params)
        out = views.catalogue(runtime.merger, runtime.publisher, REFRESH_MS)
        out["targets_configured"] = len(runtime.config.targets)
        out["history"] = {
            "caught_up": follower.caught_up.is_set(),
            "records_read": follower.read,
            "windows": store.windows,
            "skipped": store.skipped,
            "hour_days": runtime.settings.history_hour_days,
        }
        return out

    def openapi_document(params: dict[str, list[str]]) -> dict[str, Any]:
        parse_plain(params)
        return openapi()

    for path, handler in (
        ("/api/v1/kpis", kpis),
        ("/api/v1/history", history),
        ("/api/v1/targets", targets),
        ("/api/v1/certifications", certifications),
        ("/api/v1/meta", meta),
        ("/api/v1/openapi.json", openapi_document),
    ):
        app.page(path, name=handler.__name__)(api(handler))


def _drop_faust_index(app: faust.App) -> None:
    """Faust mounts its own index view at ``/`` when its web server starts (the
    production index, or the statistics view in debug mode); the board replaces it.
    Faust has no setting for that one blueprint, so its list is filtered before the
    server applies it."""
    manager = app.web.blueprints
    manager._enabled = [  # noqa: SLF001 - no public way to drop one built-in blueprint
        (prefix, blueprint)
        for prefix, blueprint in manager._enabled  # noqa: SLF001
        if not (
            isinstance(blueprint, str)
            and blueprint.startswith(("faust.web.apps.production_index", "faust.web.apps.stats"))
        )
    ]
