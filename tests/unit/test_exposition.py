"""The cached /metrics exposition: the same bytes as generate_latest, rendered per publish."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.config import parse_config
from streams.errors import CckpiError
from streams.output import exposition as module
from streams.output.exposition import AGENT_SERIES, Exposition, parse_agent_kpis
from streams.output.metrics import PipelineMetrics
from streams.output.stages import StageClock
from streams.settings import load_settings
from streams.targets.evaluate import TargetBook

from .kpi_helpers import (
    DAY_S,
    HOUR_S,
    T0,
    Engine,
    Event,
    abandoned,
    answered,
    certified,
    completed,
    offered,
    qa,
)

TARGET = (
    "{id: sl, kpi: service_level_ratio, period: hour, scope: {team: support}, op: '>=', value: 0.8}"
)
NAMES = st.sampled_from(["ann", "bob", 'q"x', "back\\slash", "new\nline", "é ü", "a,b=c}"])


@st.composite
def centres(draw: st.DrawFn) -> list[Event]:
    """Contacts, QA and certifications over three days, names with characters to escape."""
    events: list[Event] = []
    for i in range(draw(st.integers(1, 40))):
        at = T0 + draw(st.integers(0, 3 * DAY_S))
        where: dict[str, Any] = {
            "team": draw(st.sampled_from(["support", 'sa"les'])),
            "channel": draw(st.sampled_from(["voice", "chat"])),
        }
        agent, queue = draw(NAMES), draw(NAMES)
        kind = draw(
            st.sampled_from(["offered", "answered", "abandoned", "completed", "qa", "cert"])
        )
        eid = f"e{i}"
        if kind == "offered":
            events.append(offered(eid, at, queue, **where))
        elif kind == "answered":
            events.append(answered(eid, at, draw(st.integers(0, 90)), queue, agent=agent, **where))
        elif kind == "abandoned":
            events.append(abandoned(eid, at, draw(st.integers(0, 90)), queue, **where))
        elif kind == "completed":
            talk = draw(st.floats(0, 1000, allow_nan=False))
            events.append(completed(eid, at, talk, queue, agent=agent, resolved=True, **where))
        elif kind == "qa":
            events.append(qa(eid, at, draw(st.floats(0, 100, allow_nan=False)), agent, **where))
        else:
            events.append(certified(eid, at, agent, "gdpr", draw(st.integers(1, 60)), **where))
    return events


def built(
    events: list[Event], agents: frozenset[str] | None = None, timed: bool = False
) -> tuple[Engine, Exposition]:
    config = parse_config(f"targets:\n  - {TARGET}\n")
    engine = Engine(config, grace=DAY_S)
    engine.fold(events)
    book = TargetBook(config.targets)
    book.evaluate(engine.merger)
    registry = CollectorRegistry()
    counters = PipelineMetrics(registry, [20.0])
    counters.events.labels("cc.contacts", "contact.offered").inc(len(events))
    counters.queue_wait.labels("support", "billing").observe(12.0)
    stages = StageClock(registry) if timed else None  # (a render adds to its counter)
    return engine, Exposition(registry, engine.merger, book, lambda: True, agents, stages)


def families(text: bytes) -> list[bytes]:
    """The exposition cut into families (HELP line, TYPE line, samples)."""
    return [b"# HELP " + part for part in text.split(b"# HELP ") if part]


def without_stages(text: bytes) -> list[bytes]:
    """The families but the stage CPU counter (a render adds to it between two scrapes)."""
    return [family for family in families(text) if b"cc_stage_cpu" not in family]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(events=centres())
def test_the_cached_exposition_is_what_generate_latest_writes(events: list[Event]) -> None:
    _engine, exposition = built(events)
    want = generate_latest(exposition.registry)  # the KPI collector whole, per scrape
    got = asyncio.run(exposition.scrape())
    assert got == want
    assert sorted(families(got)) == sorted(families(want))


@settings(max_examples=30, deadline=None)
@given(events=centres(), chosen=st.sets(st.sampled_from(sorted(AGENT_SERIES)), max_size=3))
def test_only_the_chosen_agent_kpis_are_exported(events: list[Event], chosen: set[str]) -> None:
    _engine, exposition = built(events, frozenset(chosen))
    everything = generate_latest(exposition.registry).decode()
    want = {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(everything)
        for sample in family.samples
        if "agent" not in sample.labels
        or "period" not in sample.labels  # certification expiry: not a windowed KPI
        or sample.name.removeprefix("cc_") in chosen
    }
    got = {
        (sample.name, tuple(sorted(sample.labels.items())), sample.value)
        for family in text_string_to_metric_families(asyncio.run(exposition.scrape()).decode())
        for sample in family.samples
    }
    assert got == want


def test_the_setting_names_agent_kpis() -> None:
    assert parse_agent_kpis("all") is None
    assert parse_agent_kpis("none") == frozenset()
    assert parse_agent_kpis(" contacts_answered, tickets_solved ") == {
        "contacts_answered",
        "tickets_solved",
    }
    assert "average_handle_time_seconds_to_team_average" in AGENT_SERIES
    with pytest.raises(CckpiError, match="contacts_offered"):
        parse_agent_kpis("contacts_answered,contacts_offered")  # not an agent KPI
    with pytest.raises(ValueError, match="unknown agent-level"):
        load_settings(metrics_agent_kpis="everything")
    assert load_settings(metrics_agent_kpis="none").metrics_agent_kpis == "none"


H = T0 + 10 * HOUR_S


async def test_a_small_state_is_rendered_by_the_first_scrape_after_a_change() -> None:
    engine, exposition = built([offered("o1", H), answered("a1", H + 5, 12)], timed=True)
    first = await exposition.scrape()
    assert 'cc_contacts_offered{period="hour",window="current"} 1.0' in first.decode()
    assert exposition.renders == 1 and exposition.last_render_cpu < module.SLICE_SECONDS
    assert await exposition.scrape() == first  # nothing changed: the cache, no render
    engine.fold([offered("o2", H + 60), offered("o3", H + 61)])
    exposition.changed()
    await asyncio.sleep(0.05)
    assert exposition.renders == 1  # small: no render in the background
    after = await exposition.scrape()
    assert exposition.renders == 2
    assert 'cc_contacts_offered{period="hour",window="current"} 3.0' in after.decode()
    assert without_stages(after) == without_stages(generate_latest(exposition.registry))
    assert exposition.registry.get_sample_value("cc_stage_cpu_seconds_total", {"stage": "metrics"})


async def test_a_large_state_is_rendered_in_the_background_paced_by_its_cost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "SLICE_SECONDS", 0.0)  # every state counts as large
    engine, exposition = built([offered("o1", H), answered("a1", H + 5, 12)])
    first = await exposition.scrape()  # nothing cached: rendered in one go
    assert 'cc_contacts_offered{period="hour",window="current"} 1.0' in first.decode()
    engine.fold([offered("o2", H + 60), offered("o3", H + 61)])
    assert await exposition.scrape() == first  # unchanged as far as it was told
    exposition.changed()
    pause = max(module.MIN_INTERVAL_SECONDS, module.COST_FACTOR * exposition.last_render_cpu)
    await asyncio.sleep(pause + 0.1)
    assert exposition.renders == 2  # in the background, no scrape asked
    after = await exposition.scrape()
    assert exposition.renders == 2
    assert 'cc_contacts_offered{period="hour",window="current"} 3.0' in after.decode()
    assert after == generate_latest(exposition.registry)
    # A render waits until the last one's cost allows; scrapes serve the cache meanwhile.
    monkeypatch.setattr(module, "COST_FACTOR", 1e6)
    engine.fold([offered("o4", H + 62)])
    exposition.changed()
    await asyncio.sleep(0.05)
    assert exposition.renders == 2
    assert await exposition.scrape() == after
    assert 'window="current"} 4.0' in generate_latest(exposition.registry).decode()


async def test_without_scrapes_a_change_renders_nothing_and_drops_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine, exposition = built([offered("o1", H)])
    exposition.changed()
    await asyncio.sleep(0.02)
    assert exposition.renders == 0
    await exposition.scrape()
    assert exposition.renders == 1
    monkeypatch.setattr(module, "IDLE_SECONDS", 0.0)
    engine.fold([offered("o2", H + 60)])
    exposition.changed()  # nobody scraped since IDLE_SECONDS: the cache is dropped
    await asyncio.sleep(0.02)
    assert exposition.renders == 1
    text = (await exposition.scrape()).decode()  # so this scrape renders
    assert exposition.renders == 2
    assert 'cc_contacts_offered{period="hour",window="current"} 2.0' in text


async def test_a_worker_that_does_not_publish_exports_no_kpis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(module, "SLICE_SECONDS", 0.0)  # large: rendered in the background
    engine, exposition = built([offered("o1", H)])
    publishing = [True]
    exposition._active = lambda: publishing[0]  # noqa: SLF001 - the runtime's publisher flag
    offered_now = 'cc_contacts_offered{period="hour",window="current"}'
    assert f"{offered_now} 1.0" in (await exposition.scrape()).decode()
    publishing[0] = False
    text = (await exposition.scrape()).decode()
    assert "cc_events_total" in text and "cc_contacts_offered" not in text
    engine.fold([offered("o2", H + 60)])
    publishing[0] = True  # publishing again: nothing rendered before is served
    assert f"{offered_now} 2.0" in (await exposition.scrape()).decode()


async def test_a_large_render_leaves_the_loop_running(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(module, "SLICE_SECONDS", 0.005)
    events: list[Event] = []
    for i in range(6000):
        at, where = H + i, {"queue": f"q{i % 50}", "agent": f"agent-{i % 1500}"}
        where["team"] = f"team-{i % 1500 // 300}"
        events.append(answered(f"a{i}", at, 10, **where))
        events.append(completed(f"c{i}", at + 60, 100, resolved=True, **where))
    _engine, exposition = built(events)
    await exposition.scrape()  # the first render, in one go: nothing was cached
    assert exposition.last_render_cpu > module.SLICE_SECONDS  # large: later ones are sliced
    await asyncio.sleep(module.COST_FACTOR * exposition.last_render_cpu)
    ticks = 0
    gaps: list[float] = []

    async def ticker() -> None:
        nonlocal ticks
        while True:
            began = time.perf_counter()
            await asyncio.sleep(0.001)
            gaps.append(time.perf_counter() - began)
            ticks += 1

    task = asyncio.create_task(ticker())
    began = time.perf_counter()
    exposition.changed()
    while exposition.renders < 2:
        await asyncio.sleep(0.001)
    rendering = time.perf_counter() - began
    task.cancel()
    samples = sum(
        1 for line in generate_latest(exposition.registry).splitlines() if line[:1] != b"#"
    )
    assert samples > 40_000
    # The loop ran between slices: ticks while rendering, none waiting for all of it (the
    # longest slice is a window's agent-to-team averages, computed by the engine at once).
    assert ticks >= 5, (ticks, rendering)
    assert max(gaps) < rendering / 2, (max(gaps), rendering)


def test_stage_clock_counts_cpu_of_the_block_only() -> None:
    registry = CollectorRegistry()
    stages = StageClock(registry)
    with stages.timed("fold"):
        sum(i * i for i in range(200_000))
    time.sleep(0.05)  # waiting is no CPU
    fold = registry.get_sample_value("cc_stage_cpu_seconds_total", {"stage": "fold"})
    assert fold is not None and 0 < fold < 0.05
    assert registry.get_sample_value("cc_stage_cpu_seconds_total", {"stage": "merge"}) == 0
