"""``cckpi ingest`` in a subprocess with its own port and spool, always stopped."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from streams.broker import free_port
from tests.ingest.helpers import SECRET, TOKEN
from tests.integration.harness import terminate, wait_until


class IngestProcess:
    def __init__(self, bootstrap: str, prefix: str, workdir: Path, config: Path | None = None):
        self.port = free_port()
        self.log_path = workdir / f"ingest-{self.port}.log"
        self.env = {
            **os.environ,
            "CCKPI_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "CCKPI_TOPIC_PREFIX": prefix,
            "CCKPI_INGEST_PORT": str(self.port),
            "CCKPI_INGEST_TOKENS": TOKEN,
            "CCKPI_CHATWOOT_SECRETS": SECRET,
            "CCKPI_INGEST_SPOOL_DIR": str(workdir / f"spool-{self.port}"),
        }
        if config is not None:
            self.env["CCKPI_CONFIG"] = str(config)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> IngestProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "streams.cli", "ingest"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self.broker_ready, timeout, "the ingest's /ready with the broker up", 0.2)
        return self

    def broker_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.base + "/ready", timeout=2) as response:  # noqa: S310
                return bool(json.loads(response.read())["broker"])
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGTERM) -> int | None:
        process, self.process = self.process, None
        if process is None:
            return None
        terminate(process, sig, 30)
        return process.returncode

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
