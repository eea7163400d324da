"""The worker's final aggregates equal an independent batch computation, key for key."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from streams.broker import EmbeddedBroker
from streams.kafka_local import LocalKafka
from tests.integration.harness import WorkerProcess, metric_sum, produce, read_topic, wait_until
from tests.integration.scenario import arrivals, hard_stream
from tests.oracle.compare import diff_finals
from tests.oracle.reference import OracleConfig, compute

pytestmark = pytest.mark.integration
GRACE = 300.0


def finals_of(records: list[tuple[bytes | None, dict[str, object]]]) -> dict[str, list[dict]]:
    finals: dict[str, list[dict]] = {}
    for key, record in records:
        if record.get("final") and key is not None:
            finals.setdefault(key.decode(), []).append(record)
    return finals


def test_final_aggregates_match_the_reference(
    any_broker: EmbeddedBroker | LocalKafka, prefix: str, tmp_path: Path, repo_root: Path
) -> None:
    config_path = repo_root / "deploy" / "cckpi.yaml"
    messages = hard_stream(
        datetime(2026, 10, 30, 0, tzinfo=UTC), count=100_000, rate=0.4, seed=11, grace=GRACE
    )
    expected = compute(
        arrivals(messages),
        OracleConfig.from_config_file(yaml.safe_load(config_path.read_text()), grace_seconds=GRACE),
    )
    assert expected.late > 0 and expected.duplicate > 0, "the stream must exercise both"
    assert len(expected.finals) > 10_000, f"too few final values: {len(expected.finals)}"

    worker = WorkerProcess(
        any_broker.bootstrap_servers,
        prefix,
        tmp_path,
        config=config_path,
        extra_env={"CCKPI_GRACE_SECONDS": str(GRACE)},
    ).start()
    try:
        wait_until(lambda: worker.samples(), 90, "the worker's /metrics")
        asyncio.run(
            produce(
                any_broker.bootstrap_servers,
                [(prefix + m.topic, m.key, m.value, m.partition) for m in messages],
            )
        )

        def counted() -> float:
            s = worker.samples()
            return sum(
                metric_sum(s, name)
                for name in (
                    "cc_events_total",
                    "cc_events_invalid_total",
                    "cc_events_duplicate_total",
                    "cc_events_late_total",
                )
            )

        wait_until(lambda: counted() == len(messages), 300, f"{len(messages)} messages counted")
        samples = worker.samples()
        assert metric_sum(samples, "cc_events_duplicate_total") == expected.duplicate
        assert metric_sum(samples, "cc_events_late_total") == expected.late
        assert metric_sum(samples, "cc_events_total") == expected.accepted

        topic = prefix + "cc.kpi.aggregates"

        def all_finals() -> dict[str, list[dict]] | None:
            finals = finals_of(asyncio.run(read_topic(any_broker.bootstrap_servers, topic)))
            return finals if len(finals) >= len(expected.finals) else None

        finals = wait_until(all_finals, 300, "every final aggregate", interval=3)
        repeated = {k: len(v) for k, v in finals.items() if len(v) > 1}
        assert not repeated, f"final published more than once: {list(repeated.items())[:5]}"
        problems = diff_finals(
            expected.finals, {key: records[0] for key, records in finals.items()}
        )
        assert not problems, f"{len(problems)} differences:\n" + "\n".join(problems[:20])
        kinds = Counter(key.split("|")[0] for key in expected.finals)
        assert len(kinds) >= 19, f"not every KPI was exercised: {sorted(kinds)}"
    finally:
        worker.stop()
