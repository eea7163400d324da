"""A real Prometheus (Debian's 2.42 package) on a free loopback port, for integration tests.

:class:`PrometheusServer` writes a temporary config (one scrape job, fast scrape
and rule evaluation, the given rule files), runs ``prometheus`` with its own data
directory, waits until it is ready and always stops it. Queries go through the
HTTP API with ``urllib``: :meth:`~PrometheusServer.query` returns the result of an
instant query, :meth:`~PrometheusServer.alerts` the active alerts.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
import yaml

from streams.broker import free_port
from tests.integration.harness import terminate

MISSING = "prometheus not found: apt-get install prometheus (make test installs it)"


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def require_prometheus() -> str:
    """The ``prometheus`` binary, or skip the calling test with the reason."""
    binary = prometheus_binary()
    if binary is None:
        pytest.skip(MISSING)
    return binary


class PrometheusError(RuntimeError):
    """Prometheus failed to start, or answered a query with an error."""


class PrometheusServer:
    """``prometheus`` scraping ``targets`` as job ``job``, evaluating ``rule_files``."""

    def __init__(
        self,
        workdir: Path,
        targets: Sequence[str],
        rule_files: Sequence[Path] = (),
        job: str = "cckpi",
        scrape_interval: str = "1s",
        evaluation_interval: str = "1s",
        binary: str | None = None,
    ) -> None:
        self.binary = binary or require_prometheus()
        self.workdir = workdir / f"prometheus-{time.monotonic_ns()}"
        self.workdir.mkdir(parents=True)
        self.config_path = self.workdir / "prometheus.yml"
        self.log_path = self.workdir / "prometheus.log"
        self.config = {
            "global": {
                "scrape_interval": scrape_interval,
                "scrape_timeout": scrape_interval,
                "evaluation_interval": evaluation_interval,
            },
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [
                {
                    "job_name": job,
                    "metrics_path": "/metrics",
                    "static_configs": [{"targets": list(targets)}],
                }
            ],
        }
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0, attempts: int = 3) -> PrometheusServer:
        """Start and wait for ``/-/ready``; retry on a new port if it exits at start."""
        self.config_path.write_text(yaml.safe_dump(self.config, sort_keys=False))
        for attempt in range(attempts):
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    [
                        self.binary,
                        f"--config.file={self.config_path}",
                        f"--storage.tsdb.path={self.workdir / 'data'}",
                        f"--web.listen-address=127.0.0.1:{self.port}",
                        "--log.level=info",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            if self._wait_ready(timeout):
                return self
            exited = self.process is not None and self.process.poll() is not None
            self.stop()
            if not exited or attempt + 1 == attempts:
                break  # only an early exit (the port was taken meanwhile) is worth a retry
        raise PrometheusError(f"prometheus did not become ready:\n{self.log_text()[-3000:]}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                return False
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            terminate(process)

    def __enter__(self) -> PrometheusServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def api(self, path: str, **params: str) -> Any:
        """GET ``/api/v1/<path>``; the ``data`` of a successful answer, else PrometheusError."""
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - loopback
                body = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            body = json.loads(exc.read() or b"{}")
        if body.get("status") != "success":
            raise PrometheusError(f"{path} {params}: {body.get('errorType')}: {body.get('error')}")
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """Instant query at "now": the list of series (``metric``, ``value``) it returns.

        A scalar or string result comes back as one pseudo-series without labels.
        """
        data = self.api("query", query=expr)
        if data["resultType"] in ("scalar", "string"):
            return [{"metric": {}, "value": data["result"]}]
        return list(data["result"])

    def value(self, expr: str) -> float | None:
        """The value of a query returning at most one series (None when it returns none)."""
        result = self.query(expr)
        if not result:
            return None
        if len(result) > 1:
            raise PrometheusError(f"{expr} returned {len(result)} series, expected one")
        return float(result[0]["value"][1])

    def alerts(self) -> list[dict[str, Any]]:
        """Active (pending or firing) alerts: ``labels``, ``annotations``, ``state``, ..."""
        return list(self.api("alerts")["alerts"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(self.api("rules")["groups"])

    def targets_up(self) -> list[dict[str, Any]]:
        """Active scrape targets with their health (``up``, ``down``, ``unknown``)."""
        return list(self.api("targets", state="active")["activeTargets"])
