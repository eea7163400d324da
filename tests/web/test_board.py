"""The board and the API on a real worker, read as a person reads them: in Chromium.

One stack per module (broker, worker, three simulated days plus teams named as
markup); Debian's chromium driven by Playwright (never `playwright install`).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from streams.broker import EmbeddedBroker
from streams.web.models import HistoryResponse, KpisResponse, TargetsResponse
from tests.integration.harness import WorkerProcess, wait_until
from tests.unit.kpi_helpers import offered
from tests.web.stack import (
    HOSTILE_QUEUE,
    HOSTILE_TEAMS,
    Stack,
    scope_key,
    start_stack,
    write_config,
)

pytestmark = pytest.mark.integration
CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
DOCS = Path(__file__).resolve().parents[2] / "docs"
BOARD_VALUES = """() => [...document.querySelectorAll('[data-kpi]')].map(e => ({
    kpi: e.dataset.kpi, period: e.dataset.period, window: e.dataset.window,
    scope: e.dataset.scope, clock: e.dataset.clock || '', value: e.dataset.value}))"""


@pytest.fixture(scope="module")
def stack(broker: EmbeddedBroker, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("board")
    repo_root = Path(__file__).resolve().parents[2]
    config = write_config(repo_root, workdir / "cckpi.yaml")
    prefix = f"tboard{int(time.time() * 1000) % 10**8}."
    running = start_stack(broker.bootstrap_servers, prefix, workdir, config)
    wait_until(
        lambda: running.api("/api/v1/history?period=day")["records"],
        120,
        "final day records in the history",
    )
    last: list[Any] = [None]

    def settled() -> bool:
        """Counted by ingest is not yet merged: wait for the gauges to stop moving."""
        before, last[0] = last[0], running.gauges()
        return before == last[0]

    wait_until(settled, 60, "the gauges to settle", interval=2)
    try:
        yield running
    finally:
        running.worker.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (make chromium)")
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Page:
    """A board page that records every request, dialog and script error."""

    def __init__(self, browser: Any, url: str, width: int = 1280) -> None:
        self.page = browser.new_page(viewport={"width": width, "height": 900})
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.response = self.page.goto(url)
        self.page.wait_for_function("() => !!document.body.dataset.updated", timeout=20000)

    def values(self) -> list[dict[str, str]]:
        return list(self.page.evaluate(BOARD_VALUES))

    def close(self) -> None:
        self.page.close()


def test_api_serves_the_gauges_values(stack: Stack) -> None:
    answer = stack.api("/api/v1/kpis")
    KpisResponse.model_validate(answer)  # the models schemas/api/ is generated from
    TargetsResponse.model_validate(stack.api("/api/v1/targets"))
    HistoryResponse.model_validate(stack.api("/api/v1/history?period=day"))
    records = answer["records"]
    gauges = stack.gauges()
    got = {
        (r["kpi"], r["period"], r["window"], r["scope_key"], r["clock"] or ""): r["value"]
        for r in records
    }
    assert got == gauges
    assert len(records) == len(got)
    for r in records[:50]:
        assert r["scope_key"] == scope_key(r["scope"])
    hostile = stack.api("/api/v1/kpis?period=day&window=current&queue=" + _q(HOSTILE_QUEUE))
    assert {r["scope"]["team"] for r in hostile["records"]} == set(HOSTILE_TEAMS)
    exact = scope_key({"queue": HOSTILE_QUEUE, "team": HOSTILE_TEAMS[1]})
    one = stack.api(
        "/api/v1/kpis?kpi=contacts_offered&period=day&window=current&scope=" + _q(exact)
    )
    assert [r["value"] for r in one["records"]] == [3.0]


def test_history_holds_final_records_oldest_first(stack: Stack) -> None:
    days = stack.api("/api/v1/history?period=day&kpi=contacts_offered&scope=")["records"]
    assert days and all(r["final"] for r in days)
    starts = [r["window_start"] for r in days]
    assert starts == sorted(starts)
    assert days[0]["window_start"] == "2026-11-02T00:00:00+00:00"
    first = stack.api(
        "/api/v1/history?period=day&kpi=contacts_offered&scope=&from="
        + _q("2026-11-02T00:00:00Z")
        + "&to="
        + _q("2026-11-03T00:00:00+00:00")
    )["records"]
    assert first == days[:1]


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/api/v1/kpis?kpi=nope", "'nope'"),
        ("/api/v1/kpis?period=year", "'year'"),
        ("/api/v1/kpis?window=next", "'next'"),
        ("/api/v1/kpis?clock=wall", "'wall'"),
        ("/api/v1/kpis?colour=red", "'colour'"),
        ("/api/v1/history?from=yesterday", "'from'"),
        ("/api/v1/targets?kpi=csat_ratio", "'kpi'"),
    ],
)
def test_bad_parameters_are_400_naming_them(stack: Stack, path: str, named: str) -> None:
    status, headers, body = stack.get(path)
    assert status == 400
    assert headers["Content-Type"].startswith("application/json")
    assert named in json.loads(body)["error"]


def test_board_replaces_faust_index_and_sets_a_strict_policy(stack: Stack) -> None:
    status, headers, body = stack.get("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert body.startswith(b"<!doctype html>") and b'<script src="/static/board.js"' in body
    policy = headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "default-src 'none'" in policy
    spec = stack.api("/api/v1/openapi.json")
    assert {"/api/v1/kpis", "/api/v1/history", "/api/v1/targets"} <= set(spec["paths"])
    assert stack.get("/static/../settings.py")[0] == 404


def test_board_equals_metrics_and_api_in_every_period(stack: Stack, browser: Any) -> None:
    page = Page(browser, stack.base + "/")
    try:
        for period in ("hour", "day", "week", "month"):
            page.page.click(f"[data-period-tab={period}]")
            page.page.wait_for_function(
                "p => document.querySelectorAll('[data-kpi]').length > 0 && [...document"
                ".querySelectorAll('[data-kpi]')].every(e => e.dataset.period === p)",
                arg=period,
                timeout=10000,
            )
            # The stack is quiet: one comparison suffices unless a poll was under way
            # when the values last moved; then the next poll, a second later, agrees.
            found = differences(page, stack)
            deadline = time.monotonic() + 6
            while found and time.monotonic() < deadline:
                time.sleep(1.2)
                found = differences(page, stack)
            assert found == [], (period, found[:5])
        assert not page.errors
    finally:
        page.close()


def differences(page: Page, stack: Stack) -> list[Any]:
    """Every value on the board that differs from /metrics or the API (empty: none)."""
    gauges = stack.gauges()
    api = {
        (r["kpi"], r["period"], r["window"], r["scope_key"], r["clock"] or ""): r["value"]
        for r in stack.api("/api/v1/kpis")["records"]
    }
    shown = page.values()
    assert len(shown) > 20
    out: list[Any] = []
    with_value = 0
    for item in shown:
        key = (item["kpi"], item["period"], item["window"], item["scope"], item["clock"])
        if item["value"] == "":
            if key in gauges:
                out.append((key, "empty on the board", gauges[key]))
            continue
        with_value += 1
        if not float(item["value"]) == gauges.get(key) == api.get(key):
            out.append((key, item["value"], gauges.get(key), api.get(key)))
    assert with_value > 10
    return out


def test_breached_target_shows_breached(stack: Stack, browser: Any) -> None:
    targets = {(t["target"], t["scope_key"]): t for t in stack.api("/api/v1/targets")["targets"]}
    assert targets[("centre-sl", "")]["state"] == "breached"
    assert targets[("centre-abandon", "")]["state"] == "met"
    page = Page(browser, stack.base + "/?period=day")
    try:
        shown = page.page.evaluate(
            """() => [...document.querySelectorAll('[data-target]')].map(e => [
                e.dataset.target, e.dataset.scope, e.dataset.state, e.className])"""
        )
        states = {(t, s): (state, cls) for t, s, state, cls in shown}
        assert states[("centre-sl", "")][0] == "breached"
        assert "sev-critical" in states[("centre-sl", "")][1]
        assert states[("centre-abandon", "")][0] == "met"
        hostile = scope_key({"team": HOSTILE_TEAMS[0]})
        assert states[("hostile-offered", hostile)][0] == "breached"
        for (target, scope), (state, _) in states.items():
            assert targets[(target, scope)]["state"] == state
    finally:
        page.close()


def test_hostile_labels_stay_text_and_nothing_leaves_the_host(stack: Stack, browser: Any) -> None:
    page = Page(browser, stack.base + "/?period=day")
    try:
        page.page.wait_for_timeout(1500)
        assert page.dialogs == []
        assert page.page.evaluate("() => window.__pwned") is None
        assert page.page.evaluate("() => document.querySelectorAll('script').length") == 2
        assert page.page.evaluate("() => document.querySelectorAll('img, b').length") == 0
        texts = page.page.evaluate(
            "() => [...document.querySelectorAll('#teams tbody th')].map(e => e.textContent)"
        )
        assert set(HOSTILE_TEAMS) <= set(texts)
        scopes = {v["scope"] for v in page.values()}
        assert scope_key({"queue": HOSTILE_QUEUE, "team": HOSTILE_TEAMS[0]}) in scopes
        assert page.requests and all(url.startswith(stack.base + "/") for url in page.requests), [
            u for u in page.requests if not u.startswith(stack.base)
        ]
        assert not page.errors
    finally:
        page.close()


def test_board_follows_new_events_within_two_seconds_of_metrics(stack: Stack, browser: Any) -> None:
    page = Page(browser, stack.base + "/?period=day")
    selector = "[data-kpi=contacts_offered][data-window=current][data-scope='']"
    try:
        before = float(page.page.get_attribute(selector, "data-value") or "nan")
        key = ("contacts_offered", "day", "current", "", "")
        assert stack.gauges()[key] == before
        at = stack.last_event - 120
        stack.send([offered(f"live-{n}", at + n, queue="billing") for n in range(7)])
        seen_metrics = seen_board = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (seen_board is None or seen_metrics is None):
            asked = time.monotonic()
            if seen_metrics is None and stack.gauges().get(key) == before + 7:
                seen_metrics = asked
            shown = page.page.get_attribute(selector, "data-value")
            if seen_board is None and float(shown or "nan") == before + 7:
                seen_board = time.monotonic()
            time.sleep(0.05)
        assert seen_board is not None, "the board never showed the new events"
        assert seen_metrics is not None, "/metrics never showed the new events"
        lag = seen_board - seen_metrics
        print(f"the board showed the new events {lag:+.2f} s after /metrics")
        assert lag <= 2.0
    finally:
        page.close()


def test_screenshots_of_board_and_wallboard(stack: Stack, browser: Any, tmp_path: Path) -> None:
    """Taken on every run (written to docs/ when CCKPI_UPDATE_SCREENSHOTS is set)."""
    shots = (
        ("board", "/?period=day", 1280),
        ("wallboard", "/?wall=1", 1920),
        ("board-1920", "/?period=week", 1920),
        ("wallboard-1280", "/?wall=1", 1280),
    )
    for name, path, width in shots:
        page = Page(browser, stack.base + path, width)
        try:
            page.page.wait_for_timeout(2500)
            width_used = page.page.evaluate("() => document.documentElement.scrollWidth")
            assert width_used <= width, f"{name} is wider than {width} px ({width_used})"
            out = tmp_path / f"{name}.png"
            page.page.screenshot(path=str(out), full_page=True)
            assert out.stat().st_size > 20000
            if os.environ.get("CCKPI_UPDATE_SCREENSHOTS") and "-" not in name:
                shutil.copy(out, DOCS / f"{name}.png")
        finally:
            page.close()


def test_history_survives_a_worker_restart(stack: Stack, tmp_path: Path) -> None:
    """Last in the module: the stack's worker is replaced by a new one."""
    before = stack.api("/api/v1/history?period=day")["records"]
    assert before
    stack.worker.stop()
    config = Path(stack.worker.env["CCKPI_CONFIG"])
    replacement = WorkerProcess(stack.bootstrap, stack.prefix, tmp_path, config=config).start()
    stack.worker = replacement
    wanted = {json.dumps(r, sort_keys=True) for r in before}

    def restored() -> bool:
        if stack.get("/api/v1/meta")[0] != 200:
            return False
        after = stack.api("/api/v1/history?period=day")["records"]
        return wanted <= {json.dumps(r, sort_keys=True) for r in after}

    wait_until(restored, 120, "the new worker's history to hold every record of the old one")


def _q(text: str) -> str:
    return quote(text, safe="")
