"""``cckpi ingest`` as a process: SIGTERM and Ctrl-C stop it cleanly, no process or port left."""

from __future__ import annotations

import signal
import time
import urllib.request
from pathlib import Path

import pytest

from streams.broker import EmbeddedBroker, port_is_free
from tests.ingest.helpers import TOKEN
from tests.ingest.process import IngestProcess

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_the_service_cleanly(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path, sig: int
) -> None:
    ingest = IngestProcess(broker.bootstrap_servers, prefix, tmp_path).start()
    try:
        request = urllib.request.Request(  # noqa: S310 - loopback
            ingest.base + "/ingest/v1/events",
            data=b'{"event_id":"p1","type":"ticket.created","occurred_at":'
            b'"2026-10-30T09:00:00Z","team":"t","channel":"chat","ticket_id":"x"}',
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            assert response.status == 200
        process = ingest.process
        assert process is not None
        started = time.monotonic()
        code = ingest.stop(sig)
        assert code == 0, ingest.log_text()
        assert time.monotonic() - started < 15
        assert port_is_free("127.0.0.1", ingest.port)
        assert not Path(f"/proc/{process.pid}").exists() or process.poll() is not None
        log = ingest.log_text()
        assert "cckpi ingest stopped" in log and "Traceback" not in log
        assert "ticket.created" not in log  # no event content in the log
    finally:
        ingest.stop(signal.SIGKILL)
