"""CCKPI_INPUT_TOPICS: which input topics a worker reads and waits for."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from streams.events.models import INPUT_TOPICS
from streams.pipeline.runtime import Runtime
from streams.settings import Settings


def test_every_topic_by_default() -> None:
    assert Settings().input_topics == list(INPUT_TOPICS)


def test_a_comma_separated_list_in_the_contracts_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCKPI_INPUT_TOPICS", " cc.tickets, cc.contacts,cc.tickets")
    assert Settings().input_topics == ["cc.contacts", "cc.tickets"]


@pytest.mark.parametrize("value", ["cc.calls", ""])
def test_unknown_or_no_topic_is_an_error(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CCKPI_INPUT_TOPICS", value)
    with pytest.raises(ValidationError, match="input_topics"):
        Settings()


def test_finality_waits_only_for_the_windowed_topics_read() -> None:
    runtime = Runtime(Settings(input_topics="cc.contacts,cc.agents", input_partitions=2))
    assert sorted(runtime.merger.watermarks) == ["cc.contacts:0", "cc.contacts:1"]
    assert set(runtime.base_topics.values()) == {"cc.contacts", "cc.agents"}
