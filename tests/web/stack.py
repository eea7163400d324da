"""A running stack for the board's tests: broker, worker, events with hostile labels."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import yaml

from streams.simulate.runner import simulate_batch
from tests.integration.harness import WorkerProcess, metric_sum, produce, wait_until
from tests.unit.kpi_helpers import answered, certified, completed, offered, topic_of

HOSTILE_TEAMS = ("<script>alert(1)</script>", "<img src=x onerror=window.__pwned=1>")
HOSTILE_QUEUE = "a,b|c=d\\e"
EXTRA_TARGETS = [
    {
        "id": "centre-sl",
        "kpi": "service_level_ratio",
        "period": "day",
        "op": ">=",
        "value": 0.999,
        "severity": "critical",
    },
    {"id": "centre-abandon", "kpi": "abandon_ratio", "period": "day", "op": "<=", "value": 0.99},
    {
        "id": "hostile-offered",
        "kpi": "contacts_offered",
        "period": "day",
        "scope": {"team": HOSTILE_TEAMS[0]},
        "op": "<=",  # a cap, passed by the first contact (a >= goal is judged on pace)
        "value": 0,
        "severity": "warning",
    },
]


def escaped(value: str) -> str:
    """Contract v1.2 key escaping, written out independently of streams.output.records."""
    return "".join("\\" + c if c in "\\,=|" else c for c in value)


def scope_key(labels: dict[str, str]) -> str:
    return ",".join(f"{name}={escaped(labels[name])}" for name in sorted(labels))


def write_config(repo_root: Path, path: Path) -> Path:
    config = yaml.safe_load((repo_root / "deploy" / "cckpi.yaml").read_text())
    config["targets"] = [*config.get("targets", []), *EXTRA_TARGETS]
    path.write_text(yaml.safe_dump(config))
    return path


def hostile_events(at: float) -> list[dict[str, Any]]:
    """Contacts of teams and a queue whose names are markup and key separators."""
    out = []
    for n, team in enumerate(HOSTILE_TEAMS):
        for i in range(3):
            eid = f"hostile-{n}-{i}"
            kw = {"team": team, "queue": HOSTILE_QUEUE}
            out.append(offered(eid + "o", at + i, **kw))
            out.append(answered(eid + "a", at + i + 1, 10 + i, agent=f"<b>agent {i}</b>", **kw))
            out.append(completed(eid + "c", at + i + 2, 60, agent=f"<b>agent {i}</b>", **kw))
    return out


def messages_of(prefix: str, events: list[dict[str, Any]]) -> list[tuple[str, bytes, bytes, None]]:
    keys = {"cc.contacts": "contact_id", "cc.tickets": "ticket_id", "cc.agents": "agent"}
    out = []
    for event in events:
        topic = topic_of(event)
        key = str(event.get(keys.get(topic, "event_id"), event["event_id"]))
        out.append((prefix + topic, key.encode(), orjson.dumps(event), None))
    return out


@dataclass
class Stack:
    worker: WorkerProcess
    bootstrap: str
    prefix: str
    sent: int
    last_event: float

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.worker.port}"

    def get(self, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(self.base + path)  # noqa: S310 - loopback
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()
        except OSError:
            return 0, {}, b""  # not listening (yet)

    def api(self, path: str) -> Any:
        status, _, body = self.get(path)
        assert status == 200, (path, status, body[:300])
        return json.loads(body)

    def gauges(self) -> dict[tuple[str, str, str, str, str], float]:
        """(kpi, period, window, scope key, clock) -> value of every KPI gauge."""
        out = {}
        for name, labels, value in self.worker.samples():
            if "window" not in labels or not name.startswith("cc_"):
                continue
            if name.startswith("cc_target_"):  # target states, not KPI values
                continue
            rest = dict(labels)
            period, window = rest.pop("period"), rest.pop("window")
            clock = rest.pop("clock", "")
            out[(name[3:], period, window, scope_key(rest), clock)] = value
        return out

    def send(self, events: list[dict[str, Any]]) -> None:
        """Produce and wait for the acks, in a thread of its own: Playwright's sync API
        keeps an event loop running in the test's thread."""
        messages = messages_of(self.prefix, events)
        with ThreadPoolExecutor(1) as pool:
            pool.submit(lambda: asyncio.run(produce(self.bootstrap, messages))).result()
        self.sent += len(events)

    def wait_counted(self, timeout: float = 120) -> None:
        def counted() -> bool:
            samples = self.worker.samples()
            return metric_sum(samples, "cc_events_total") >= self.sent

        wait_until(counted, timeout, f"{self.sent} events counted")


def start_stack(
    bootstrap: str, prefix: str, workdir: Path, config: Path, events: int = 25000
) -> Stack:
    """Worker, then simulated traffic (about three days from 2026-11-02) and hostile labels."""
    worker = WorkerProcess(bootstrap, prefix, workdir, config=config).start()
    wait_until(lambda: worker.samples(), 120, "the worker's /metrics")
    batch = simulate_batch(datetime(2026, 11, 2, tzinfo=UTC), seed=11, count=events, rate=0.1)
    last = max(datetime.fromisoformat(str(e.value["occurred_at"])).timestamp() for e in batch)
    messages = [(prefix + e.topic, e.key.encode(), orjson.dumps(e.value), None) for e in batch]
    asyncio.run(produce(bootstrap, messages))
    stack = Stack(worker, bootstrap, prefix, len(messages), last)
    stack.send(hostile_events(last - 1800))
    stack.send(
        [certified("cert-h", last - 60, "<b>agent 0</b>", "gdpr", 10, team=HOSTILE_TEAMS[0])]
    )
    stack.wait_counted()
    return stack
