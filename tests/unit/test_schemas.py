"""The checked-in JSON Schemas are exactly what the models generate."""

from __future__ import annotations

from pathlib import Path

from streams.schemas import build_schemas, render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_every_schema_is_checked_in_and_current() -> None:
    built = build_schemas()
    on_disk = {str(p.relative_to(SCHEMAS)) for p in SCHEMAS.rglob("*.json")}
    assert on_disk == set(built), "run `cckpi schemas` to regenerate schemas/"
    for name, schema in built.items():
        assert (SCHEMAS / name).read_text(encoding="utf-8") == render(schema), (
            f"schemas/{name} drifted from the models: run `cckpi schemas`"
        )


def test_schemas_cover_every_contract_event_type() -> None:
    events = {
        name.split("/")[1].removesuffix(".json")
        for name in build_schemas()
        if name.startswith("events/")
    }
    assert events == {
        "contact.offered",
        "contact.answered",
        "contact.abandoned",
        "contact.completed",
        "ticket.created",
        "ticket.replied",
        "ticket.solved",
        "ticket.reopened",
        "survey.nps",
        "survey.csat",
        "qa.evaluated",
        "agent.certified",
        "agent.shift",
    }
