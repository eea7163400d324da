"""Issue 4, "done means": a real Prometheus scrapes a real worker fed simulated traffic.

The worker runs with the shipped config (deploy/cckpi.yaml) plus one target the
simulator never meets (``impossible-sl``). Prometheus scrapes its ``/metrics``
every second as job ``cckpi`` (``RuleOptions.worker_job``) and evaluates the
rule files ``write_rules`` generates for that config, with every ``for:`` cut to
2 s through ``RuleOptions`` (no YAML rewriting). Then:

1. every query of every panel of every dashboard ``build_dashboards`` makes for
   that config returns at least one series with a finite value, with the
   template variables set to real values of the simulated data (a team, one of
   its queues, an agent with every agent KPI, period day, business clock) and
   again with "All". Malformed, duplicate and late messages give the rejected
   and dead-letter panels data; :data:`KNOWN_EMPTY` lists the exceptions;
2. every generated alert rule returns data and fires, or is listed in
   :data:`QUIET` with why it must stay empty and the queries for the series it
   compares, which must return data (the ``...Missed`` rules among them: no
   window closes in this traffic); each target rule fires on exactly the scopes
   the worker's own ``cc_target_state`` puts in its state (``behind_pace`` for
   volume goals, ``breached`` with enough volume for the others);
3. the impossible target: ``cc_target_breached{target="impossible-sl"} == 1``,
   a ``breached`` record on ``<prefix>cc.target.breaches``, and its alert firing.
"""

from __future__ import annotations

import asyncio
import math
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from streams.broker import EmbeddedBroker
from streams.config import AppConfig, load_config
from streams.generate.dashboards import DEFAULT_VARIABLES, build_dashboards, panel_queries
from streams.generate.promql import target_selector
from streams.generate.rules import (
    RuleOptions,
    build_pipeline_rules,
    build_rules,
    missed_alert_name,
    target_alert_name,
    write_rules,
)
from streams.simulate.core import SimEvent
from streams.simulate.runner import simulate_batch
from streams.targets.states import BEHIND_PACE, BREACHED, is_volume_goal
from tests.integration.harness import (
    WorkerProcess,
    metric_sum,
    produce,
    read_topic,
    wait_until,
)
from tests.integration.prometheus import (
    MISSING,
    PrometheusServer,
    prometheus_binary,
    require_prometheus,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.prometheus,
    pytest.mark.skipif(prometheus_binary() is None, reason=MISSING),
]

START = datetime(2026, 11, 2, 4, tzinfo=UTC)
"""A Monday; 40,000 events at rate 2 run to about 09:54 UTC, all in one day window."""
SEED = 11
COUNT = 40_000
RATE = 2.0
IMPOSSIBLE = {
    "id": "impossible-sl",
    "kpi": "service_level_ratio",
    "period": "day",
    "scope": {"team": "support"},
    "op": ">=",
    "value": 0.999,
    "severity": "critical",
    "description": "Never met by the simulator: the live Prometheus test checks that it fires.",
}
SHORT = "2s"
OPTIONS = RuleOptions(
    target_for=SHORT,
    worker_down_for=SHORT,
    stalled_for=SHORT,
    lag_for=SHORT,
    stuck_for=SHORT,
    surge_for=SHORT,
    missed_for=SHORT,
)
"""The shipped thresholds, with every ``for:`` cut to 2 s so alerts fire within the test."""
JOB = OPTIONS.worker_job

TEAM, QUEUE = "support", "billing"
AGENT_EVENT_TYPES = frozenset(
    {
        "contact.answered",
        "contact.completed",
        "ticket.replied",
        "ticket.solved",
        "survey.nps",
        "survey.csat",
        "qa.evaluated",
        "agent.certified",
    }
)
"""Every event type behind a per-agent panel: the chosen agent must have them all."""

# Bad input. A few of each kind go in with the first half of the traffic (so each
# counter series exists before it grows: rate() only sees increases after its first
# sample), the bulk with the second half, enough for both surge alerts to fire. The
# share rate() sees depends on how much of the first half Prometheus's first sample
# of cc_events_total already held, so the margins cover all 40,000 valid events:
BAD_KINDS = 4
BULK_INVALID = 8_000  # >= 8000 / 48000 = 17% of what rate() sees; DeadLetterSurge: 5%
BULK_LATE = 2_000  # >= 2000 / 42000 = 4.8%; LateEventsSurge: 1%
LATE_AT = START - timedelta(days=1)  # its hour window is long final on every partition

QUIET: dict[str, tuple[str, list[str]]] = {
    "CckpiWorkerDown": (
        "the worker is up and scraped",
        [f'up{{job="{JOB}"}} == 1'],
    ),
    "CckpiPipelineStalled": (
        "events were accepted in the last minute",
        ["sum(rate(cc_events_total[5m])) > 0"],
    ),
    "CckpiConsumerLagGrowing": (
        "the worker has caught up: no lag, let alone 10,000 growing",
        [
            "sum by (topic) (cc_consumer_lag_messages) == 0",
            "sum by (topic) (deriv(cc_consumer_lag_messages[10m]))",
        ],
    ),
    "CckpiPipelineStuck": (
        "a batch was folded seconds ago and nothing waits",
        [
            "time() - max(cc_last_batch_timestamp_seconds) < 300",
            "sum(cc_consumer_lag_messages) == 0",
        ],
    ),
    "CckpiTargetSupportFirstReplyBreached": (
        "support's business-clock first reply averages well under an hour in this traffic",
        [],  # the target's own selector is added below for every target rule
    ),
    "CckpiTargetAnsweredPerAgentBehindPace": (
        "every agent answers at least 28 contacts in these six hours, above the month's pace "
        "(500 x the business time elapsed by Monday morning: under 10)",
        ['cc_target_state{target="answered-per-agent",state=~"on_pace|met"} == 1'],
    ),
    "CckpiTargetCertificationCurrentBreached": (
        "certifications are valid for months; none expires within six simulated hours",
        [],
    ),
}
MISSED_REASON = "all traffic lies in one day: no window of the target's period closes"
"""Rules that must NOT fire with this traffic: why, and what must return data instead."""

KNOWN_EMPTY: dict[str, tuple[str, tuple[str, str]]] = {}
"""Panels (by title) that return nothing although the data is there: the reason, and a
rewrite of the query (``{prefix}`` = the topic prefix) that shows the data is there.

Each must really come back empty: a fixed one must be removed from here."""


def _config(repo_root: Path, tmp_path: Path) -> Path:
    data = yaml.safe_load((repo_root / "deploy" / "cckpi.yaml").read_text())
    data["targets"].append(IMPOSSIBLE)
    path = tmp_path / "cckpi.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _agent_of(events: Sequence[SimEvent], team: str) -> str:
    """The agent of ``team`` with the most events among those with every agent event type."""
    kinds: dict[str, set[str]] = defaultdict(set)
    volume: Counter[str] = Counter()
    for event in events:
        value = event.value
        agent = value.get("agent")
        if value["team"] != team or not isinstance(agent, str):
            continue
        if value["type"] == "ticket.replied" and not (
            value.get("author") == "agent" and value.get("public")
        ):
            continue
        kinds[agent].add(str(value["type"]))
        volume[agent] += 1
    complete = [agent for agent, seen in kinds.items() if seen >= AGENT_EVENT_TYPES]
    assert complete, f"no {team} agent has every agent event type: {dict(kinds)}"
    return max(complete, key=lambda agent: (volume[agent], agent))


def _bad_messages(sample: SimEvent, tag: str, count: int) -> list[bytes]:
    """``count`` invalid messages cycling through BAD_KINDS reasons, unique event ids."""
    out = []
    for i in range(count):
        event_id = f"bad-{tag}-{i}"
        kind = i % BAD_KINDS
        if kind == 0:
            out.append(b"{not json " + event_id.encode())
        elif kind == 1:
            out.append(orjson.dumps({**sample.value, "event_id": event_id, "type": "x.teleported"}))
        elif kind == 2:
            naive = str(sample.value["occurred_at"])[:19]
            out.append(orjson.dumps({**sample.value, "event_id": event_id, "occurred_at": naive}))
        else:
            out.append(orjson.dumps({**sample.value, "event_id": event_id, "channel": "fax"}))
    return out


def _late_messages(
    prefix: str, offers: Sequence[SimEvent], tag: str, count: int
) -> list[tuple[str, bytes, bytes, None]]:
    """Valid offers dated a day before the traffic, keyed like real contacts already sent,
    so they land on partitions whose watermark has moved on: late."""
    out = []
    for i in range(count):
        base = offers[i % len(offers)]
        value = {**base.value, "event_id": f"late-{tag}-{i}", "occurred_at": LATE_AT.isoformat()}
        out.append((prefix + base.topic, base.key.encode(), orjson.dumps(value), None))
    return out


def _publisher(worker: WorkerProcess) -> bool:
    """True once the worker's group assignment made it the publisher (it exports the KPIs)."""
    try:
        url = f"http://127.0.0.1:{worker.port}/health"
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback
            return bool(orjson.loads(response.read()).get("publisher"))
    except OSError:
        return False


def _labels(series: Mapping[str, Any], drop: Sequence[str] = ()) -> frozenset[tuple[str, str]]:
    """A result series' labels without the scrape, name and ``drop`` labels."""
    skip = {"__name__", "instance", "job", *drop}
    return frozenset((k, v) for k, v in series["metric"].items() if k not in skip)


def _finite(result: Sequence[Mapping[str, Any]]) -> bool:
    return any(math.isfinite(float(series["value"][1])) for series in result)


def _check_panels(
    prom: PrometheusServer,
    boards: Mapping[str, Mapping[str, Any]],
    variable_sets: Mapping[str, Mapping[str, str]],
) -> None:
    """Every panel query returns a finite series (KNOWN_EMPTY ones: none), within a deadline
    that covers a few scrapes (rate() needs two samples)."""
    queries = [
        (name, uid, title, expr)
        for name, variables in variable_sets.items()
        for uid, board in boards.items()
        for title, expr in panel_queries(board, variables)
    ]
    assert len(queries) > 100, "suspiciously few panel queries"
    titles = {title for _, _, title, _ in queries}
    assert set(KNOWN_EMPTY) <= titles, f"stale KNOWN_EMPTY: {set(KNOWN_EMPTY) - titles}"

    def failures() -> list[str]:
        out = []
        for name, uid, title, expr in queries:
            result = prom.query(expr)
            if title in KNOWN_EMPTY:
                if result:
                    out.append(f"[{name}] {uid} / {title}: returns data now; fixed? {expr}")
            elif not _finite(result):
                out.append(f"[{name}] {uid} / {title}: {result or 'no series'} from {expr}")
        return out

    deadline = time.monotonic() + 20
    problems = failures()
    while problems and time.monotonic() < deadline:
        time.sleep(1)
        problems = failures()
    assert not problems, "panels without data:\n" + "\n".join(problems)


def _rules(config: AppConfig) -> list[dict[str, Any]]:
    return [
        rule
        for document in (build_rules(config, OPTIONS), build_pipeline_rules(OPTIONS))
        for group in document["groups"]
        for rule in group["rules"]
    ]


def _firing(prom: PrometheusServer) -> dict[str, set[frozenset[tuple[str, str]]]]:
    """alertname -> label sets of its firing alerts (rule labels removed)."""
    out: dict[str, set[frozenset[tuple[str, str]]]] = defaultdict(set)
    for alert in prom.alerts():
        if alert["state"] == "firing":
            labels = alert["labels"]
            out[labels["alertname"]].add(
                _labels({"metric": labels}, ("alertname", "severity", "target", "kpi"))
            )
    return out


def test_dashboards_and_alerts_on_a_live_prometheus(
    broker: EmbeddedBroker, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    binary = require_prometheus()
    config_path = _config(repo_root, tmp_path)
    config = load_config(config_path)
    rule_files = write_rules(config, tmp_path / "rules", OPTIONS)
    rules = _rules(config)
    quiet = dict(QUIET)
    for target in config.targets:
        if not target.kpi.startswith("certifications_"):
            quiet[missed_alert_name(target)] = (MISSED_REASON, [])
    assert set(QUIET) <= {rule["alert"] for rule in rules}, "stale QUIET"
    boards = build_dashboards(config, OPTIONS)

    events = simulate_batch(START, seed=SEED, count=COUNT, rate=RATE)
    day = START.date().isoformat()  # one day window (UTC, the default reporting zone)
    assert {str(e.value["occurred_at"])[:10] for e in events} == {day}
    agent = _agent_of(events, TEAM)
    messages = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in events]
    half = len(messages) // 2
    offers = [e for e in events[:half] if e.value["type"] == "contact.offered"]
    bad = {
        tag: [
            (prefix + topic, b"bad", raw, None)
            for topic in ("cc.contacts", "cc.tickets")
            for raw in _bad_messages(offers[0], f"{tag}-{topic}", count // 2)
        ]
        for tag, count in (("a", 2 * BAD_KINDS), ("b", BULK_INVALID))
    }
    late = {
        "a": _late_messages(prefix, offers, "a", 1),
        "b": _late_messages(prefix, offers, "b", BULK_LATE),
    }
    duplicate = messages[1]  # sent again with the second half: dropped as a repeat
    stages = {
        "a": messages[:half] + bad["a"] + late["a"],
        "b": messages[half:] + bad["b"] + late["b"] + [duplicate],
    }

    def wait_counted(expected: tuple[int, ...], what: str) -> None:
        """Wait until Prometheus scraped (accepted, invalid, late, duplicate) == expected."""
        seen: tuple[float, ...] = ()

        def check() -> bool:
            nonlocal seen
            seen = tuple(
                prom.value(f"sum(cc_events{kind}_total)") or 0
                for kind in ("", "_invalid", "_late", "_duplicate")
            )
            return seen == expected

        try:
            wait_until(check, 120, what)
        except AssertionError as exc:
            samples = worker.samples()
            direct = tuple(
                metric_sum(samples, f"cc_events{kind}_total")
                for kind in ("", "_invalid", "_late", "_duplicate")
            )
            up = prom.value(f'up{{job="{JOB}"}}')
            raise AssertionError(
                f"{exc}: Prometheus has {seen} (up={up}), the worker {direct}, "
                f"expected {expected} (accepted, invalid, late, duplicate)"
            ) from None

    worker = WorkerProcess(broker.bootstrap_servers, prefix, tmp_path, config=config_path).start()
    prom = PrometheusServer(
        tmp_path, [f"127.0.0.1:{worker.port}"], rule_files, job=JOB, binary=binary
    )
    try:
        wait_until(worker.samples, 90, "the worker's /metrics")
        prom.start()
        wait_until(
            lambda: _publisher(worker), 90, "the worker to own cc.contacts/0 (the publisher)"
        )
        wait_until(lambda: prom.value(f'up{{job="{JOB}"}}') == 1, 30, "Prometheus's first scrape")

        # Two stages, each waited for in Prometheus: every counter is scraped before
        # and after it grows, so rate() sees traffic (and PipelineStalled stays quiet).
        asyncio.run(produce(broker.bootstrap_servers, stages["a"]))
        wait_counted((half, len(bad["a"]), len(late["a"]), 0), "the first half, counted")
        asyncio.run(produce(broker.bootstrap_servers, stages["b"]))
        wait_counted(
            (len(messages), len(bad["a"]) + len(bad["b"]), 1 + BULK_LATE, 1),
            "every message, counted",
        )

        # 1. Every panel of every dashboard, with real values and with "All".
        real = {"team": TEAM, "queue": QUEUE, "agent": agent, "period": "day", "clock": "business"}
        _check_panels(prom, boards, {"real values": real, "All": DEFAULT_VARIABLES})
        for title, (reason, (old, new)) in KNOWN_EMPTY.items():
            queries = [q for b in boards.values() for t, q in panel_queries(b, real) if t == title]
            for expr in queries:
                fixed = expr.replace(old, new.format(prefix=prefix))
                assert fixed != expr and _finite(prom.query(fixed)), (title, reason, fixed)

        # 2. Rules: loaded and healthy; each fires, or is quiet with its inputs present.
        loaded = {rule["name"]: rule for g in prom.rule_groups() for rule in g["rules"]}
        assert set(loaded) == {rule["alert"] for rule in rules}
        unhealthy = {n: r.get("lastError") for n, r in loaded.items() if r["health"] != "ok"}
        assert not unhealthy, unhealthy
        assert {r["duration"] for r in loaded.values()} == {2}, "RuleOptions for: not applied"
        targets = {target_alert_name(t): t for t in config.targets}
        loud = [rule for rule in rules if rule["alert"] not in quiet]
        wait_until(
            lambda: all(rule["alert"] in _firing(prom) for rule in loud),
            60,
            f"every rule but {sorted(quiet)} to fire (firing: {sorted(_firing(prom))})",
        )
        firing = _firing(prom)
        for rule in rules:
            name, result = rule["alert"], prom.query(rule["expr"])
            if name in quiet:
                reason, inputs = quiet[name]
                assert not result, f"{name} should be quiet ({reason}): {result}"
                assert name not in firing, f"{name} fires, but {reason}"
                if name in targets:
                    inputs = [*inputs, target_selector(targets[name])]
                if name.endswith("Missed"):
                    inputs = [*inputs, 'cc_target_state{window="current"}']
                for expr in inputs:
                    assert prom.query(expr), f"{name}: no data from {expr} ({reason})"
            else:
                assert result, f"{name} returns nothing: {rule['expr']}"
                breaching = {_labels(series) for series in result}
                assert breaching <= firing[name], (name, breaching - firing[name])
            if name in targets:
                # The rule fires exactly on the scopes the worker judges to be in its state.
                target = targets[name]
                if target.kpi.startswith("certifications_"):
                    selector = f'cc_target_breached{{target="{target.id}"}}'
                else:
                    state = BEHIND_PACE if is_volume_goal(target) else BREACHED
                    selector = (
                        f'cc_target_state{{target="{target.id}",window="current",state="{state}"}}'
                    )
                states = prom.query(selector)
                assert states, f"no {selector}"
                worker_judged = {
                    _labels(s, ("target", "kpi", "period", "clock", "window", "state"))
                    for s in states
                    if float(s["value"][1]) == 1
                }
                rule_fired = {_labels(s, ("period", "window", "clock")) for s in result}
                assert rule_fired == worker_judged, (target.id, rule_fired, worker_judged)

        # 3. The impossible target, three ways.
        breached = prom.query('cc_target_breached{target="impossible-sl"} == 1')
        assert [s["metric"].get("team") for s in breached] == [TEAM], breached
        alert = target_alert_name(next(t for t in config.targets if t.id == "impossible-sl"))
        assert prom.query(f'ALERTS{{alertname="{alert}",alertstate="firing",team="{TEAM}"}}')
        assert any(
            a["labels"]["alertname"] == alert
            and a["state"] == "firing"
            and a["labels"]["severity"] == "critical"
            for a in prom.alerts()
        )
        records = asyncio.run(read_topic(broker.bootstrap_servers, prefix + "cc.target.breaches"))
        impossible = [r for _, r in records if r["target"] == "impossible-sl"]
        assert impossible, (
            f"no impossible-sl record among {Counter(r['target'] for _, r in records)}"
        )
        assert impossible[-1]["state"] == "breached", impossible
        assert impossible[-1]["scope"] == {"team": TEAM}
        assert impossible[-1]["period"] == "day"
        assert impossible[-1]["value"] < 0.999

        assert worker.process is not None and worker.process.poll() is None, "worker stopped"
    finally:
        prom.stop()
        worker.stop()
        print(worker.log_text()[-3000:])
        print(prom.log_text()[-2000:])
