"""Shared fixtures: one embedded broker and one Apache Kafka per test session, always
stopped; ``any_broker`` runs a test on each of them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, free_port
from streams.kafka_local import KafkaUnavailable, LocalKafka, ensure_available


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    """A Tansu broker on a free loopback port for the whole session."""
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(free_port(), log=log) as running:
        yield running


KAFKA_VERSION = os.environ.get("CCKPI_TEST_KAFKA_VERSION") or None
"""Another Apache Kafka 4.x to run the Kafka tests on (default: the pom's)."""


def kafka_jars_or_skip() -> None:
    """Skip (with what to install) where Java or Maven is missing; ``make test``
    installs both as root on Debian, so CI runs every Kafka test."""
    try:
        ensure_available(KAFKA_VERSION)
    except KafkaUnavailable as exc:
        pytest.skip(f"no local Apache Kafka: {exc}")


@pytest.fixture(scope="session")
def kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKafka]:
    """Apache Kafka 4 (KRaft, one combined broker + controller, the version pinned in
    deploy/kafka/pom.xml) on free loopback ports for the whole session."""
    kafka_jars_or_skip()
    with LocalKafka(tmp_path_factory.mktemp("kafka"), version=KAFKA_VERSION) as running:
        yield running


@pytest.fixture(scope="module", params=["tansu", pytest.param("kafka", marks=pytest.mark.kafka)])
def any_broker(request: pytest.FixtureRequest) -> EmbeddedBroker | LocalKafka:
    """The test once on the embedded broker and once on Apache Kafka."""
    running: EmbeddedBroker | LocalKafka = request.getfixturevalue(
        "broker" if request.param == "tansu" else "kafka"
    )
    return running


@pytest.fixture
def prefix() -> str:
    """A unique topic prefix (and app id) so tests never share topics or groups."""
    return f"t{uuid.uuid4().hex[:10]}."


@pytest.fixture
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
