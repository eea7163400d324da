"""Prometheus metrics on an injected registry: live counters, and KPI gauges read at scrape.

The KPI gauges are produced by a collector from the merger's state when
Prometheus scrapes, so a scope that vanished from the current and previous
windows simply stops being exported; nothing is registered at import time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from streams.config import TargetConfig
from streams.kpi.catalogue import CERTIFICATION_KPIS, PERIODS
from streams.kpi.merge import Merger, Scope, Window
from streams.targets.evaluate import TargetBook, TargetState
from streams.targets.states import (
    OPEN_OTHER_STATES,
    OPEN_VOLUME_STATES,
    VERDICTS,
    is_volume_goal,
)

_DEFAULT_WAIT_BUCKETS = (5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class PipelineMetrics:
    """The live counters and gauges of the ingest stage."""

    def __init__(self, registry: CollectorRegistry, service_level_bounds: list[float]) -> None:
        self.events = Counter(
            "cc_events", "Accepted input events", ["topic", "type"], registry=registry
        )
        self.invalid = Counter(
            "cc_events_invalid",
            "Input events refused as invalid",
            ["topic", "reason"],
            registry=registry,
        )
        self.duplicate = Counter(
            "cc_events_duplicate", "Input events dropped as repeats", ["topic"], registry=registry
        )
        self.late = Counter(
            "cc_events_late", "Input events for a final window", ["topic"], registry=registry
        )
        self.deadletter = Counter(
            "cc_deadletter",
            "Messages sent to the dead-letter topic",
            ["topic", "reason"],
            registry=registry,
        )
        buckets = sorted(set(service_level_bounds) | set(_DEFAULT_WAIT_BUCKETS))
        self.queue_wait = Histogram(
            "cc_queue_wait_seconds",
            "Queue wait of answered and abandoned contacts",
            ["team", "queue"],
            buckets=buckets,
            registry=registry,
        )
        self.lag = Gauge(
            "cc_consumer_lag_messages",
            "Messages behind the log end, owned partitions",
            ["topic"],
            registry=registry,
        )
        self.last_batch = Gauge(
            "cc_last_batch_timestamp_seconds",
            "Wall-clock time of the last folded batch",
            registry=registry,
        )
        self.watermark = Gauge(
            "cc_watermark_timestamp_seconds",
            "Largest event time seen (global watermark)",
            registry=registry,
        )
        self.partials_repeated = Counter(
            "cc_partials_repeated",
            "Partials read again for input already merged (a resent record), merged once",
            registry=registry,
        )
        self.breach_transitions = Counter(
            "cc_target_transitions",
            "Target transitions seen on the breaches topic",
            ["target", "state"],
            registry=registry,
        )
        self.batch_events = Histogram(
            "cc_batch_events",
            "Records per folded batch",
            buckets=(1, 10, 100, 1000, 5000, 20000, 50000),
            registry=registry,
        )


WINDOW_LABELS = ("current", "previous")


def reported_windows(merger: Merger) -> Iterator[tuple[str, str, Window]]:
    """``(period, window label, window)`` of every window the gauges (and the query
    API) report: ``current`` holds the global watermark, ``previous`` is the one before."""
    for period_index, period in enumerate(PERIODS):
        for label, window in (
            ("current", merger.current(period_index)),
            ("previous", merger.previous(period_index)),
        ):
            if window is not None:
                yield period, label, window


class KpiCollector(Collector):
    """KPI, certification and target gauges from the merger's state."""

    def __init__(
        self,
        merger: Merger,
        book: TargetBook,
        active: Callable[[], bool],
        *,
        windowed: bool = True,
    ) -> None:
        self._merger = merger
        self._book = book
        self._active = active
        self._windowed = windowed
        """False: leave out the windowed KPI gauges (streams.output.exposition renders them)."""

    def collect(self) -> Iterator[Metric]:
        if not self._active():
            return
        families: dict[str, Metric] = {}

        def family(name: str, doc: str) -> Metric:
            metric = families.get(name)
            if metric is None:
                metric = families[name] = Metric(name, doc, "gauge")
            return metric

        merger = self._merger
        # KPI samples are held as small tuples and turned into a family's samples (a
        # labels dict each) only as that family is yielded: a scrape of 170,000 samples
        # never holds them all as prometheus objects at once.
        kpis: dict[str, list[tuple[str, str, Scope, str | None, float]]] = {}
        for period, label, window in reported_windows(merger) if self._windowed else ():
            for value in merger.values(window):
                found = kpis.get(value.kpi)
                if found is None:
                    found = kpis[value.kpi] = []
                found.append((period, label, value.scope, value.clock, value.value))
        if merger.global_watermark != float("-inf"):
            now = merger.global_watermark
            counts = merger.certification_counts(now)
            for index, kpi in enumerate(CERTIFICATION_KPIS):
                name = f"cc_{kpi}"
                metric = family(name, CERTIFICATION_KPIS[kpi])
                for team, pair in sorted(counts.items()):
                    metric.add_sample(name, {"team": team}, float(pair[index]))
            name = "cc_agent_certification_expiry_timestamp_seconds"
            metric = family(name, "When each agent's certification expires")
            for (team, agent, cert), expires in merger.certifications.items():
                metric.add_sample(
                    name, {"team": team, "agent": agent, "certification": cert}, expires
                )
        for state in self._book.states.values():
            labels = target_labels(state)
            target = state.target
            family("cc_target", "Target threshold").add_sample("cc_target", labels, target.value)
            family(
                "cc_target_breached", "1 when the target is breached in the current window"
            ).add_sample("cc_target_breached", labels, 1.0 if state.breached else 0.0)
            add_states(family(*STATE_FAMILY), labels, "current", state.state, open_states(target))
            if state.expected is not None:
                family(
                    "cc_target_expected",
                    "Volume goals: the target x the elapsed share of the current window",
                ).add_sample("cc_target_expected", labels, state.expected)
        previous = {p: merger.previous(p) for p in range(len(PERIODS))}
        for verdict in self._book.verdicts.values():
            closed = verdict.window
            if closed is not None and previous[closed[0]] == closed:
                # The window's start makes each window's verdict an alert of its own.
                labels = target_labels(verdict) | {"window_start": merger.clock.iso(closed[1])}
                add_states(family(*STATE_FAMILY), labels, "previous", verdict.state, VERDICTS)
        # Everything is read from the merger before the first family is yielded.
        for kpi in list(kpis):
            name = f"cc_{kpi}"
            kpi_family = Metric(name, f"KPI {kpi}", "gauge")
            for period, label, scope, clock, number in kpis.pop(kpi):
                kpi_labels = {"period": period, "window": label, **dict(scope)}
                if clock:
                    kpi_labels["clock"] = clock
                kpi_family.add_sample(name, kpi_labels, number)
            yield kpi_family
            del kpi_family
        yield from families.values()


STATE_FAMILY = (
    "cc_target_state",
    "1 for the state a target is in (window current) or its verdict on the closed "
    "previous window (window previous, with its window_start), 0 for the others",
)


def target_labels(state: TargetState) -> dict[str, str]:
    target = state.target
    labels = {"target": target.id, "kpi": target.kpi, "period": target.period, **dict(state.scope)}
    if target.clock:
        labels["clock"] = target.clock
    return labels


def open_states(target: TargetConfig) -> tuple[str, ...]:
    return OPEN_VOLUME_STATES if is_volume_goal(target) else OPEN_OTHER_STATES


def add_states(
    metric: Metric, labels: dict[str, str], window: str, current: str, states: tuple[str, ...]
) -> None:
    """One sample per state the target can be in: 1 for ``current``, 0 for the others, so
    a rule can test ``== 1`` and a board can tell "not in this state" from "no data"."""
    for name in states:
        sample = {**labels, "window": window, "state": name}
        metric.add_sample("cc_target_state", sample, 1.0 if name == current else 0.0)
