"""The API's responses as pydantic models: the JSON Schemas in ``schemas/api/`` and the
OpenAPI description are generated from them (the handlers build plain dicts)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from streams.output.records import AggregateRecord


class ApiRecord(AggregateRecord):
    """An aggregate record as the API returns it."""

    scope_key: str = Field(
        description="The scope as in the aggregate key: sorted name=value pairs joined by ','"
        " with \\ , = | escaped in values; empty for the whole centre."
    )


class KpiRecord(ApiRecord):
    window: Literal["current", "previous"] = Field(
        description="current: the window holding the watermark; previous: the one before."
    )


class KpisResponse(BaseModel):
    """``GET /api/v1/kpis``: the values the gauges show."""

    model_config = ConfigDict(extra="forbid")
    records: list[KpiRecord]


class HistoryResponse(BaseModel):
    """``GET /api/v1/history``: final records of closed windows, oldest first."""

    model_config = ConfigDict(extra="forbid")
    records: list[ApiRecord]


class TargetRow(BaseModel):
    """One target and scope in its current window."""

    model_config = ConfigDict(extra="allow")
    target: str
    kpi: str
    period: str
    clock: str | None
    scope: dict[str, str]
    scope_key: str
    value: float | None
    target_value: float
    op: str
    severity: str
    state: str = Field(description="met or breached (later versions add states)")
    window_start: str | None
    window_end: str | None


class TargetsResponse(BaseModel):
    """``GET /api/v1/targets``."""

    model_config = ConfigDict(extra="forbid")
    targets: list[TargetRow]


class ErrorResponse(BaseModel):
    """A 400 (bad parameter, named) or 401 (no valid token)."""

    model_config = ConfigDict(extra="forbid")
    error: str


API_MODELS: dict[str, type[BaseModel]] = {
    "kpis": KpisResponse,
    "history": HistoryResponse,
    "targets": TargetsResponse,
    "error": ErrorResponse,
}
