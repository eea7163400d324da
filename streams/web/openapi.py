"""The OpenAPI 3.1 description served at ``/api/v1/openapi.json``."""

from __future__ import annotations

from typing import Any

from streams.kpi.catalogue import CLOCKS, PERIODS
from streams.output.metrics import WINDOW_LABELS
from streams.web.models import API_MODELS
from streams.web.query import KPI_NAMES, LABELS


def _param(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _filters() -> list[dict[str, Any]]:
    params = [
        _param("kpi", "Only this KPI.", {"type": "string", "enum": sorted(KPI_NAMES)}),
        _param("period", "Only this period.", {"type": "string", "enum": list(PERIODS)}),
        _param("clock", "Only this clock.", {"type": "string", "enum": list(CLOCKS)}),
        _param(
            "scope",
            "One exact scope, as in the aggregate key (empty: the whole centre).",
            {"type": "string"},
        ),
    ]
    params += [
        _param(label, f"Only scopes whose {label} label has this value.", {"type": "string"})
        for label in LABELS
    ]
    return params


def _responses(model: str) -> dict[str, Any]:
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/error"}}}
    return {
        "200": {
            "description": "OK",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{model}"}}},
        },
        "400": {"description": "A bad parameter, named in error", "content": error},
        "401": {"description": "CCKPI_API_TOKENS is set and no valid token came", "content": error},
    }


def _plain() -> dict[str, Any]:
    responses = _responses("error")
    responses["200"] = {
        "description": "OK",
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
    responses["400"]["description"] = "Any parameter but token"
    return responses


def openapi() -> dict[str, Any]:
    components: dict[str, Any] = {}
    for name, model in API_MODELS.items():
        schema = model.model_json_schema(
            mode="serialization", ref_template="#/components/schemas/{model}"
        )
        components.update(schema.pop("$defs", {}))
        components[name] = schema
    window = _param(
        "window", "current or previous.", {"type": "string", "enum": list(WINDOW_LABELS)}
    )
    moment = {"type": "string", "format": "date-time"}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cckpi query API",
            "version": "1.2",
            "description": "KPI values of the current and previous windows (the gauges' values),"
            " final records of closed windows, and target states (CONTRACT.md v1.2).",
        },
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{}, {"bearer": []}],
        "paths": {
            "/api/v1/kpis": {
                "get": {
                    "summary": "KPI records of the current and previous windows",
                    "parameters": [*_filters(), window],
                    "responses": _responses("kpis"),
                }
            },
            "/api/v1/history": {
                "get": {
                    "summary": "Final records of closed windows, oldest first",
                    "parameters": [
                        *_filters(),
                        _param("from", "Windows starting at or after (RFC 3339).", moment),
                        _param("to", "Windows starting before (RFC 3339).", moment),
                    ],
                    "responses": _responses("history"),
                }
            },
            "/api/v1/targets": {
                "get": {
                    "summary": "Every target and scope with its state",
                    "responses": _responses("targets"),
                }
            },
            "/api/v1/certifications": {
                "get": {
                    "summary": "Certifications expired and expiring within 30 days, per team,"
                    " and each agent's",
                    "responses": _plain(),
                }
            },
            "/api/v1/meta": {
                "get": {
                    "summary": "The KPI catalogue, the watermark, whether this worker publishes,"
                    " the history's size",
                    "responses": _plain(),
                }
            },
        },
    }
