"""The /metrics body: live counters per scrape, the KPI gauges rendered when they change.

Rendering every KPI gauge per scrape ran on the worker's event loop: 2.0 to 6.3 s
and 17.5 MB for 5,000 agents and 200 queues (163,037 samples), close to
Prometheus's default 10 s scrape timeout, with ingest stalled meanwhile. Here the
KPI collector's families are rendered to bytes when the merged state changed,
from a copy of the current and previous windows, in slices of tens of
milliseconds between which the loop runs ingest; a scrape renders only the live
metrics of the registry (the pipeline's counters and anything else registered on
it) and appends the cached bytes. The windowed gauges are formatted here
directly (about a fifth of what building prometheus_client samples costs), byte
for byte as ``generate_latest`` formats them; everything else the KPI collector
yields (certifications, targets) still goes through ``generate_latest``.

Renders are demand-driven and bounded. A small state (its last render took less
than ``SLICE_SECONDS`` of CPU) is rendered by the first scrape after it changed,
as before: fresh, and a worker nobody scrapes renders nothing. A large one is
rendered in the background when the merged state changed (partials merged, a
publish) and someone scraped within ``IDLE_SECONDS``, no sooner than
``COST_FACTOR`` times the last render's CPU time (and ``MIN_INTERVAL_SECONDS``)
after the last one started, so rendering takes at most about a sixth of the
worker's CPU however large the centre grows; scrapes serve the last render
meanwhile. A scrape with nothing usable cached (the first after start, a
publisher change or an idle spell) renders in one go.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from collections.abc import Callable, Iterator
from typing import cast

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from streams.errors import CckpiError
from streams.kpi.catalogue import AGENT_KPIS, PERIODS, to_team_name
from streams.kpi.merge import Merger, Scope, Window
from streams.output.metrics import KpiCollector
from streams.output.stages import StageClock
from streams.targets.evaluate import TargetBook

log = logging.getLogger(__name__)
IDLE_SECONDS = 300.0
"""After this long without a scrape, publishes stop rendering (the next scrape renders)."""
COST_FACTOR = 5.0
"""A render starts no sooner than this many times the last render's duration after it."""
MIN_INTERVAL_SECONDS = 0.1
"""Nor sooner than this after the last one started (partials are merged every few ms)."""
SLICE_SECONDS = 0.05
"""Rendering yields to the event loop after about this much work: short beside what one
batch of ingest holds the loop for, and few turns (each may wait for such a batch)."""
AGENT_SERIES: frozenset[str] = frozenset(
    {kpi.name for kpi in AGENT_KPIS} | {to_team_name(kpi.name) for kpi in AGENT_KPIS}
)
"""KPI names exported at agent scope: the agent KPIs and each one's ratio to its team."""
_go_float = cast(Callable[[float], str], floatToGoString)
"""How generate_latest writes a sample value."""


class ExpositionError(CckpiError):
    """A /metrics setting names something that does not exist."""


def parse_agent_kpis(text: str) -> frozenset[str] | None:
    """``all`` -> None (no filter), ``none`` -> nothing, else comma-separated KPI names
    (``AGENT_SERIES``) whose agent-scope gauges are exported."""
    words = [word.strip() for word in text.split(",") if word.strip()]
    if words == ["all"]:
        return None
    if words == ["none"]:
        return frozenset()
    unknown = sorted(set(words) - AGENT_SERIES)
    if unknown or not words:
        raise ExpositionError(
            f"unknown agent-level KPI(s) {unknown or [text]}: use all, none or a "
            f"comma-separated list of {', '.join(sorted(AGENT_SERIES))}"
        )
    return frozenset(words)


def _escape(value: str) -> str:
    """A label value as ``generate_latest`` escapes it."""
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def _labels(scope: Scope, clock: str | None, period: str, window: str) -> str:
    """The label text of one KPI gauge sample: names sorted, as ``generate_latest`` writes."""
    pairs = [*scope, ("period", period), ("window", window)]
    if clock:
        pairs.append(("clock", clock))
    return ",".join(f'{name}="{_escape(value)}"' for name, value in sorted(pairs))


def _frozen(merger: Merger) -> tuple[Merger, list[tuple[str, str, Window]]]:
    """A merger holding copies of the current and previous windows' cells (what the gauges
    show), and those windows: later merges do not change what a render shows."""
    frozen = Merger(merger.clock, merger.grace, ())
    frozen.global_watermark = merger.global_watermark
    shown: list[tuple[str, str, Window]] = []
    for index, period in enumerate(PERIODS):
        for label, window in (
            ("current", merger.current(index)),
            ("previous", merger.previous(index)),
        ):
            if window is None:
                continue
            shown.append((period, label, window))
            cells = merger.windows.get(window)
            if cells is not None and window not in frozen.windows:
                frozen.windows[window] = {scope: array("q", cell) for scope, cell in cells.items()}
    return frozen, shown


def render_windowed(
    merger: Merger, shown: list[tuple[str, str, Window]], agents: frozenset[str] | None
) -> Iterator[bytes | None]:
    """The windowed KPI families as KpiCollector yields them, formatted; yields None
    between scopes (a point where the caller may give the loop a turn), then the bytes.

    A family's samples come from every window, so each window's lines of a family are
    joined into one chunk when the window is done, and each family is encoded as it is
    written out: about the final size held twice at the peak, not one object per line.
    """
    families: dict[str, list[str]] = {}
    for period, label, window in shown:
        prefixes: dict[tuple[Scope, str | None], str] = {}
        lines: dict[str, list[str]] = {}
        last: Scope | None = None
        for value in merger.values(window):
            scope = value.scope
            if scope is not last:
                last = scope
                yield None
            if agents is not None and scope and scope[0][0] == "agent" and value.kpi not in agents:
                continue
            key = (scope, value.clock)
            labels = prefixes.get(key)
            if labels is None:
                labels = prefixes[key] = _labels(scope, value.clock, period, label)
            found = lines.get(value.kpi)
            if found is None:
                found = lines[value.kpi] = []
                families.setdefault(value.kpi, [])
            found.append(f"cc_{value.kpi}{{{labels}}} {_go_float(value.value)}\n")
        for kpi, found in lines.items():
            families[kpi].append("".join(found))
        del lines
    out = []
    for kpi in list(families):
        chunks = families.pop(kpi)
        out.append(f"# HELP cc_{kpi} KPI {kpi}\n# TYPE cc_{kpi} gauge\n{''.join(chunks)}".encode())
        del chunks
        yield None
    yield b"".join(out)


class _Deferred(Collector):
    """The KPI collector as registered: skipped while the exposition renders the live part
    (their bytes come from the cache), whole for anyone else reading the registry."""

    def __init__(self, inner: Collector) -> None:
        self.inner = inner
        self.skip = False

    def collect(self) -> Iterator[Metric]:
        if self.skip:
            return iter(())
        return iter(self.inner.collect())


class Exposition:
    """What /metrics serves: ``await scrape()``; ``changed()`` whenever the merged state
    (or the targets' state) changed."""

    def __init__(
        self,
        registry: CollectorRegistry,
        merger: Merger,
        book: TargetBook,
        active: Callable[[], bool],
        agents: frozenset[str] | None = None,
        stages: StageClock | None = None,
    ) -> None:
        self.registry = registry
        self._stages = stages
        self._merger = merger
        self._active = active
        self._agents = agents
        self._deferred = _Deferred(KpiCollector(merger, book, active))
        registry.register(self._deferred)
        self._rest = KpiCollector(merger, book, active, windowed=False)
        self._body: bytes | None = None
        """The KPI collector's exposition as last rendered; None: nothing usable."""
        self._fresh = False
        """The last render started after the last change."""
        self._rendering: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_scrape = float("-inf")
        self._last_start = float("-inf")
        self.last_render_seconds = 0.0
        self.last_render_cpu = 0.0
        """CPU seconds of the last render (its slices only: the loop runs ingest between)."""
        self.renders = 0

    def live(self) -> bytes:
        """The registry's metrics other than the KPI collector's, rendered now."""
        self._deferred.skip = True
        try:
            return generate_latest(self.registry)
        finally:
            self._deferred.skip = False

    async def scrape(self) -> bytes:
        """The whole exposition: live metrics now, the KPI gauges rendered now if that is
        cheap (the last render took less than ``SLICE_SECONDS``) or nothing usable is
        cached, else as of the last background render."""
        self._last_scrape = time.monotonic()
        if not self._active():
            self._body = None  # should it publish again, nothing from before is served
            return self.live()
        if self._rendering is None and (self._body is None or (not self._fresh and self._small())):
            self._render_now()
        elif not self._fresh:
            self._schedule()
        if self._body is None and self._rendering is not None:
            await asyncio.shield(self._rendering)
        return self.live() + (self._body or b"")

    def changed(self) -> None:
        """The merged state changed (partials merged, a publish). A large state is
        rendered again in the background as soon as the last render's cost allows, if
        anyone scrapes (a small one at the next scrape); nobody scraping for
        ``IDLE_SECONDS`` drops the cache instead."""
        self._fresh = False
        if time.monotonic() - self._last_scrape >= IDLE_SECONDS:
            self._body = None
        elif not self._small():
            self._schedule()

    def _small(self) -> bool:
        return self.last_render_cpu < SLICE_SECONDS

    def _render_now(self) -> None:
        """Render in one go on the loop: cheap, or a scrape that has nothing to serve (the
        first after start, a publisher change or an idle spell)."""
        self._fresh = True
        self._last_start = began = time.monotonic()
        cpu = time.thread_time()
        try:
            body = self.render_now()
            self._body = body if self._active() else None
            self.renders += 1
        finally:
            used = time.thread_time() - cpu
            if self._stages is not None:
                self._stages.add("metrics", used)
            self.last_render_seconds = time.monotonic() - began
            self.last_render_cpu = used

    def _schedule(self) -> None:
        if self._rendering is not None or self._timer is not None:
            return  # a render running re-checks freshness when it ends
        pause = max(MIN_INTERVAL_SECONDS, COST_FACTOR * self.last_render_cpu)
        wait = self._last_start + pause - time.monotonic()
        if wait <= 0:
            self._start()
        else:
            self._timer = asyncio.get_running_loop().call_later(wait, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if not self._fresh:
            self._schedule()

    def _start(self) -> None:
        self._fresh = True
        self._last_start = time.monotonic()
        self._rendering = asyncio.ensure_future(self._render())

    async def _render(self) -> None:
        began, used = time.monotonic(), 0.0
        try:
            parts = self.render_slices()
            body: bytes | None = None
            done = False
            while not done:
                sliced, cpu = time.perf_counter(), time.thread_time()
                done = True
                for part in parts:
                    if part is not None:
                        body = part
                    elif time.perf_counter() - sliced >= SLICE_SECONDS:
                        done = False
                        break
                cpu = time.thread_time() - cpu
                used += cpu
                if self._stages is not None:
                    self._stages.add("metrics", cpu)
                if not done:
                    await asyncio.sleep(0)
            self._body = body if self._active() else None
            self.renders += 1
        except Exception:
            log.exception("rendering the KPI gauges failed; serving the last render")
        finally:
            self.last_render_seconds = time.monotonic() - began
            self.last_render_cpu = used
            self._rendering = None
        if not self._fresh and not self._small():
            self._schedule()  # changed while rendering

    def render_slices(self) -> Iterator[bytes | None]:
        """The KPI collector's exposition from the state now: Nones between slices of
        work, then the bytes. What is shown is copied before the first None."""
        if not self._active():
            yield b""
            return
        frozen, shown = _frozen(self._merger)
        rest = generate_latest(self._rest)
        windowed = b""
        for part in render_windowed(frozen, shown, self._agents):
            if part is None:
                yield None
            else:
                windowed = part
        yield windowed + rest

    def render_now(self) -> bytes:
        """The KPI collector's exposition from the state now, in one go (tests, bench)."""
        body = b""
        for part in self.render_slices():
            if part is not None:
                body = part
        return body
