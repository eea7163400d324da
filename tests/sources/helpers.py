"""Running the source commands as a user does: ``python -m streams.cli ...`` in a subprocess."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from tests.oracle.reference import Arrival, OracleConfig, OracleResult, compute

CONFIG = """\
queues:
  billing: {team: support, service_level_seconds: 30, short_abandon_seconds: 5}
  sales: {team: sales, channel: voice}
"""
TEAMS = {"billing": ("support", "voice"), "sales": ("sales", "voice")}


def env_for(bootstrap: str, prefix: str, workdir: Path, **extra: str) -> dict[str, str]:
    config = workdir / "cckpi.yaml"
    config.write_text(CONFIG)
    return {
        **os.environ,
        "CCKPI_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "CCKPI_TOPIC_PREFIX": prefix,
        "CCKPI_CONFIG": str(config),
        "CCKPI_DATA_DIR": str(workdir / "data"),
        **extra,
    }


def cckpi(
    env: dict[str, str], *args: str, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own CLI
        [sys.executable, "-m", "streams.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "streams.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def write(path: Path, lines: list[str], gz: bool = False) -> Path:
    data = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def oracle(
    events: list[dict[str, Any]], config_text: str = CONFIG, **settings: Any
) -> OracleResult:
    import yaml

    arrivals = [Arrival("cc.contacts", 0, orjson.dumps(event)) for event in events]
    return compute(arrivals, OracleConfig.from_config_file(yaml.safe_load(config_text), **settings))


def latest(records: list[tuple[bytes | None, Any]]) -> dict[str, dict[str, Any]]:
    """The last record published for each key (a compacted topic's view)."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in records:
        if key is not None:
            out[key.decode()] = value
    return out
