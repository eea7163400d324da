"""Turning the board off, and putting it behind CCKPI_API_TOKENS (real workers)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from streams.broker import EmbeddedBroker
from tests.integration.harness import WorkerProcess, wait_until
from tests.web.test_board import CHROMIUM, FLAGS

pytestmark = pytest.mark.integration
TOKENS = ("tok-one", "tok-two")


def get(port: int, path: str, token: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}")  # noqa: S310
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except OSError:
        return 0, b""  # not listening yet


@pytest.fixture(scope="module")
def workers(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Any:
    workdir = tmp_path_factory.mktemp("access")
    locked = WorkerProcess(
        broker.bootstrap_servers,
        f"ta{uuid.uuid4().hex[:8]}.",
        workdir,
        extra_env={"CCKPI_API_TOKENS": ",".join(TOKENS)},
    ).start()
    off = WorkerProcess(
        broker.bootstrap_servers,
        f"tb{uuid.uuid4().hex[:8]}.",
        workdir,
        extra_env={"CCKPI_WEB_BOARD_ENABLED": "false"},
    ).start()
    try:
        for worker in (locked, off):
            wait_until(lambda w=worker: get(w.port, "/health")[0] == 200, 120, "/health")
        yield locked, off
    finally:
        locked.stop()
        off.stop()


def test_tokens_guard_board_and_api_but_not_metrics(workers: Any) -> None:
    locked, _ = workers
    port = locked.port
    for path in ("/", "/api/v1/kpis", "/api/v1/targets", "/api/v1/openapi.json"):
        status, body = get(port, path)
        assert status == 401, path
        assert "token" in json.loads(body)["error"]
        assert get(port, path, token=TOKENS[0] + "x")[0] == 401
        assert get(port, path + "?token=tok-on")[0] == 401
        assert get(port, path, token=TOKENS[0])[0] == 200, path
        assert get(port, path + "?token=" + TOKENS[1])[0] == 200, path
    assert get(port, "/metrics")[0] == 200
    assert get(port, "/health")[0] == 200
    assert get(port, "/api/v1/kpis?token=tok-two&period=nope")[0] == 400


def test_board_opened_with_a_token_keeps_working(workers: Any) -> None:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    locked, _ = workers
    statuses: list[tuple[str, int]] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.on("response", lambda r: statuses.append((r.url, r.status)))
            page.goto(f"http://127.0.0.1:{locked.port}/?token={TOKENS[0]}")
            page.wait_for_function("() => !!document.body.dataset.updated", timeout=20000)
            page.wait_for_timeout(1500)
        finally:
            browser.close()
    api_calls = [s for url, s in statuses if "/api/v1/" in url]
    assert api_calls and set(api_calls) == {200}, statuses


def test_board_and_api_can_be_turned_off(workers: Any) -> None:
    _, off = workers
    assert get(off.port, "/api/v1/kpis")[0] == 404
    status, body = get(off.port, "/")
    assert b"board.js" not in body, (status, body[:200])
    assert get(off.port, "/metrics")[0] == 200
