"""KpiCollector: the KPI gauges of the current and previous windows, certifications, targets."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from streams.config import parse_config
from streams.kpi.catalogue import PERIODS
from streams.output.metrics import KpiCollector
from streams.targets.evaluate import TargetBook

from .kpi_helpers import DAY_S, HOUR_S, T0, Engine, answered, certified, completed, offered

H = T0 + 10 * HOUR_S
TARGET = (
    "{id: sl, kpi: service_level_ratio, period: hour, scope: {team: support}, op: '>=', value: 0.8}"
)


def test_every_sample_once_family_by_family() -> None:
    config = parse_config(f"targets:\n  - {TARGET}\n")
    engine = Engine(config, grace=DAY_S)
    engine.fold(
        [
            offered("o1", H - HOUR_S),
            answered("a1", H - HOUR_S + 5, 12, agent="ann"),
            completed("c1", H - HOUR_S + 90, 80, agent="ann", resolved=True),
            offered("o2", H, queue="vip"),
            answered("a2", H + 5, 40, queue="vip", agent="bob"),
            certified("g1", H, "ann", "gdpr", 20),
        ]
    )
    book = TargetBook(config.targets)
    book.evaluate(engine.merger)
    registry = CollectorRegistry()
    registry.register(KpiCollector(engine.merger, book, lambda: True))
    text = generate_latest(registry).decode()
    families = list(text_string_to_metric_families(text))
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    got = {
        (s.name, tuple(sorted(s.labels.items())), s.value)
        for f in families
        for s in f.samples
        if "period" in s.labels and not f.name.startswith("cc_target")
    }
    want = set()
    merger = engine.merger
    for index, period in enumerate(PERIODS):
        for label, window in (
            ("current", merger.current(index)),
            ("previous", merger.previous(index)),
        ):
            for v in merger.values(window) if window is not None else ():
                labels = {"period": period, "window": label, **dict(v.scope)}
                if v.clock:
                    labels["clock"] = v.clock
                want.add((f"cc_{v.kpi}", tuple(sorted(labels.items())), v.value))
    assert got == want
    assert ("cc_contacts_answered", (("period", "hour"), ("window", "previous"))) in {
        (n, tuple(x for x in labels if x[0] in ("period", "window")))
        for n, labels, _ in got
        if n == "cc_contacts_answered" and len(labels) == 2
    }
    assert "cc_certifications_expiring_30d" in names
    assert 'cc_target_breached{kpi="service_level_ratio"' in text
    assert not list(KpiCollector(engine.merger, book, lambda: False).collect())
