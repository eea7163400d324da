"""The ``chatwoot:`` config section and the ingest settings."""

from __future__ import annotations

import pytest

from streams.config import parse_config
from streams.errors import ConfigError
from streams.settings import load_settings


def test_inbox_teams_parse_with_integer_inbox_ids() -> None:
    config = parse_config("chatwoot:\n  inbox_teams: {2: website, 5: mail-desk}\n")
    assert config.chatwoot.inbox_teams == {2: "website", 5: "mail-desk"}
    assert parse_config("queues: {}\n").chatwoot.inbox_teams == {}


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("chatwoot:\n  inbox_team: {2: website}\n", "chatwoot.inbox_team"),
        ("chatwoot:\n  inbox_teams: {two: website}\n", "chatwoot.inbox_teams.two"),
        ("chatwoot:\n  inbox_teams: {2: ''}\n", "chatwoot.inbox_teams"),
    ],
)
def test_bad_chatwoot_sections_name_the_field(text: str, where: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_config(text, "cckpi.yaml")
    assert where in str(error.value)


def test_tokens_and_secrets_are_comma_separated_secrets() -> None:
    settings = load_settings(ingest_tokens=" a-token , b-token,", chatwoot_secrets="s3cr3t")
    assert [t.get_secret_value() for t in settings.ingest_tokens] == ["a-token", "b-token"]
    assert [s.get_secret_value() for s in settings.chatwoot_secrets] == ["s3cr3t"]
    shown = repr(settings) + str(settings.model_dump())
    assert "a-token" not in shown and "s3cr3t" not in shown
    assert settings.ingest_port == 6067
    assert load_settings().ingest_tokens == []


def test_environment_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKPI_CHATWOOT_SECRETS", "one,two")
    monkeypatch.setenv("CCKPI_INGEST_PORT", "7000")
    settings = load_settings()
    assert [s.get_secret_value() for s in settings.chatwoot_secrets] == ["one", "two"]
    assert settings.ingest_port == 7000
