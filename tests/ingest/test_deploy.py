"""The ingest in docker-compose.yml and deploy/k8s: the command, port, probes, spool, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PORT = 6067


def test_compose_runs_the_ingest_with_a_spool_volume() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    ingest = compose["services"]["ingest"]
    assert ingest["command"] == ["ingest"]
    assert f"{PORT}:{PORT}" in ingest["ports"]
    env = ingest["environment"]
    assert env["CCKPI_INGEST_PORT"] == str(PORT) and env["CCKPI_WEB_BIND"] == "0.0.0.0"  # noqa: S104
    assert env["CCKPI_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
    spool = env["CCKPI_INGEST_SPOOL_DIR"]
    assert any(v.split(":")[1] == spool and not v.startswith(".") for v in ingest["volumes"])
    assert "ingest-spool" in compose["volumes"]
    assert f"{PORT}/ready" in " ".join(ingest["healthcheck"]["test"])
    scrape = yaml.safe_load((REPO / "deploy" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in scrape["scrape_configs"]}
    assert jobs["cckpi-ingest"]["static_configs"][0]["targets"] == [f"ingest:{PORT}"]


def documents() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = yaml.safe_load((REPO / "deploy" / "k8s" / "kustomization.yaml").read_text())
    assert "ingest.yaml" in kustomization["resources"]
    text = (REPO / "deploy" / "k8s" / "ingest.yaml").read_text()
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(text)}


def test_k8s_deployment_service_and_probes() -> None:
    docs = documents()
    deployment = docs[("Deployment", "cckpi-ingest")]
    pod = deployment["spec"]["template"]
    [container] = pod["spec"]["containers"]
    assert container["args"] == ["ingest"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": PORT}
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["startupProbe"]["httpGet"]["path"] == "/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["CCKPI_INGEST_PORT"] == str(PORT)
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[env["CCKPI_INGEST_SPOOL_DIR"]] == "spool"
    secret = [s["secretRef"] for s in container["envFrom"] if "secretRef" in s]
    assert secret == [{"name": "cckpi-ingest", "optional": True}]
    assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(PORT)
    service = docs[("Service", "cckpi-ingest")]
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    monitor = docs[("ServiceMonitor", "cckpi-ingest")]
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
