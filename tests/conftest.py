"""Shared fixtures: one embedded broker per test session, always stopped."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A Tansu broker on a free loopback port for the whole session."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(free_port(), log=log) as running:
        yield running


@pytest.fixture
def prefix() -> str:
    """A unique topic prefix (and app id) so tests never share topics or groups."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
