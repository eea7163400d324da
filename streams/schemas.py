"""JSON Schema of every input event and output record, generated from the pydantic models.

``cckpi schemas`` writes them under ``schemas/``; a test fails when the checked-in
files drift from the models.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from streams.events.decode import REASONS
from streams.events.models import (
    AgentCertified,
    AgentShift,
    ContactAbandoned,
    ContactAnswered,
    ContactCompleted,
    ContactOffered,
    QaEvaluated,
    SurveyCsat,
    SurveyNps,
    TicketCreated,
    TicketReopened,
    TicketReplied,
    TicketSolved,
)
from streams.output.records import AggregateRecord, BreachRecord
from streams.web.models import API_MODELS

EVENTS: dict[str, type[BaseModel]] = {
    "contact.offered": ContactOffered,
    "contact.answered": ContactAnswered,
    "contact.abandoned": ContactAbandoned,
    "contact.completed": ContactCompleted,
    "ticket.created": TicketCreated,
    "ticket.replied": TicketReplied,
    "ticket.solved": TicketSolved,
    "ticket.reopened": TicketReopened,
    "survey.nps": SurveyNps,
    "survey.csat": SurveyCsat,
    "qa.evaluated": QaEvaluated,
    "agent.certified": AgentCertified,
    "agent.shift": AgentShift,
}
OUTPUTS: dict[str, type[BaseModel]] = {
    "cc.kpi.aggregates": AggregateRecord,
    "cc.target.breaches": BreachRecord,
}
DEADLETTER_SCHEMA: dict[str, Any] = {
    "title": "DeadLetter",
    "type": "object",
    "required": ["reason", "detail", "topic", "partition", "offset", "raw"],
    "additionalProperties": False,
    "properties": {
        "reason": {"type": "string", "enum": list(REASONS)},
        "detail": {"type": "string"},
        "topic": {"type": "string"},
        "partition": {"type": "integer"},
        "offset": {"type": "integer"},
        "raw": {"type": "string", "description": "UTF-8 text, or 'base64:' + base64"},
    },
}


def build_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema document."""
    out: dict[str, dict[str, Any]] = {}
    for name, model in EVENTS.items():
        out[f"events/{name}.json"] = model.model_json_schema(mode="validation")
    for name, model in OUTPUTS.items():
        out[f"outputs/{name}.json"] = model.model_json_schema(mode="serialization")
    out["outputs/cc.deadletter.json"] = DEADLETTER_SCHEMA
    for name, model in API_MODELS.items():
        out[f"api/{name}.json"] = model.model_json_schema(mode="serialization")
    return out


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def write_schemas(out_dir: Path) -> list[Path]:
    written = []
    for name, schema in build_schemas().items():
        path = out_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(schema), encoding="utf-8")
        written.append(path)
    return written
