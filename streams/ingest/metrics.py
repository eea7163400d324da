"""The ingest service's own metrics, on an injected registry (served on its ``/metrics``)."""

from __future__ import annotations

from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

M = TypeVar("M", Counter, Histogram)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class IngestMetrics:
    """Counters by bounded labels only: route, status, outcome, reason, path."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        self.requests = Counter(
            "cckpi_ingest_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "cckpi_ingest_request_seconds",
            "Time from a request's arrival to its answer, by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.broker_ack = Histogram(
            "cckpi_ingest_broker_ack_seconds",
            "Time a request waited for the broker's acks (acks=all) of its events.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.rejections = Counter(
            "cckpi_ingest_rejections",
            "Requests refused as a whole (401, 400, 413, 503), by route and reason.",
            ["route", "reason"],
            registry=registry,
        )
        self.events = Counter(
            "cckpi_ingest_events",
            "Contract events of accepted requests, by route and outcome "
            "(accepted, invalid, duplicate).",
            ["route", "outcome"],
            registry=registry,
        )
        self.invalid = Counter(
            "cckpi_ingest_invalid_events",
            "Events refused by the worker's own validation, by route and reason.",
            ["route", "reason"],
            registry=registry,
        )
        self.skipped = Counter(
            "cckpi_ingest_chatwoot_skipped",
            "Genuine Chatwoot deliveries that make no event, by reason.",
            ["reason"],
            registry=registry,
        )
        self.durable = Counter(
            "cckpi_ingest_durable_events",
            "Accepted events made durable, by path (broker ack or fsynced spool).",
            ["path"],
            registry=registry,
        )
        self.forwarded = Counter(
            "cckpi_ingest_spool_forwarded_events",
            "Spooled events produced to the broker once it was back.",
            registry=registry,
        )
        self.damaged = Counter(
            "cckpi_ingest_spool_damaged_lines",
            "Spool lines that could not be read (cut short by a crash before their fsync).",
            registry=registry,
        )
        self.spool_pending = Gauge(
            "cckpi_ingest_spool_pending_bytes",
            "Bytes in the spool not yet forwarded to the broker.",
            registry=registry,
        )
        self.broker_up = Gauge(
            "cckpi_ingest_broker_up",
            "1 while the producer reaches the broker, 0 while events go to the spool.",
            registry=registry,
        )

    def of(self, metric: M, *labels: str) -> M:
        """``metric.labels(*labels)``, remembered: ``labels()`` costs tens of microseconds
        and a request touches four children (the label values are bounded)."""
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child
