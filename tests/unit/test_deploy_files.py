"""docker-compose.yml, Dockerfile, Prometheus/Alertmanager/Grafana config and deploy/k8s.

No Docker engine or cluster here: the files are parsed and cross-checked (a
mounted path exists, a scraped port is the one the worker serves, a probe hits
/health), promtool checks the Prometheus config and kubectl builds the
kustomization where those tools are installed.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from streams.config import load_config
from streams.generate.k8s import build_prometheus_rule, write_k8s
from streams.generate.rules import DEFAULT_OPTIONS, build_pipeline_rules, render

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
WEB_PORT = 6066


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document: dict[str, Any] = load(REPO / "docker-compose.yml")
    return document


def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def host_ports(service: dict[str, Any]) -> set[int]:
    return {int(str(port).split(":")[0]) for port in service.get("ports", [])}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> host path of the service's bind mounts."""
    result = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("."):
            result[target] = source
    return result


# --------------------------------------------------------------------------- compose


def test_compose_has_every_service_and_port(compose: dict[str, Any]) -> None:
    svc = services(compose)
    assert set(svc) >= {"kafka", "worker", "simulator", "prometheus", "alertmanager", "grafana"}
    expected = {
        "kafka": 9092,
        "worker": WEB_PORT,
        "prometheus": 9090,
        "alertmanager": 9093,
        "grafana": 3000,
    }
    for name, port in expected.items():
        assert port in host_ports(svc[name]), f"{name} does not publish {port}"


def test_kafka_is_single_node_kraft_with_two_listeners(compose: dict[str, Any]) -> None:
    kafka = services(compose)["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert not any("ZOOKEEPER" in key for key in env)
    advertised = env["KAFKA_ADVERTISED_LISTENERS"]
    assert "INTERNAL://kafka:19092" in advertised and "EXTERNAL://localhost:9092" in advertised
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == 1
    assert "healthcheck" in kafka


def test_worker_and_simulator_run_the_image(compose: dict[str, Any]) -> None:
    svc = services(compose)
    worker, simulator, topics = svc["worker"], svc["simulator"], svc["topics"]
    for service in (worker, simulator, topics):
        assert service["build"]["context"] == "."
        assert service["build"]["dockerfile"] == "Dockerfile"
        env = service["environment"]
        assert env["CCKPI_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:19092"
        assert mounts(service)[env["CCKPI_CONFIG"]] == "./deploy/cckpi.yaml"
    assert worker["command"] == ["worker"]
    assert worker["environment"]["CCKPI_WEB_BIND"] == "0.0.0.0"  # noqa: S104 - inside the container
    assert "profiles" not in worker
    assert simulator["profiles"] == ["sim"]
    assert simulator["command"][0] == "simulate"
    assert topics["command"] == ["topics"]
    assert worker["depends_on"]["topics"]["condition"] == "service_completed_successfully"
    assert topics["depends_on"]["kafka"]["condition"] == "service_healthy"
    assert "/health" in " ".join(worker["healthcheck"]["test"])


def test_every_bind_mount_exists(compose: dict[str, Any]) -> None:
    for name, service in services(compose).items():
        for target, source in mounts(service).items():
            assert (REPO / source).exists(), f"{name}: {source} (for {target}) is missing"


def test_monitoring_mounts_match_their_configs(compose: dict[str, Any]) -> None:
    svc = services(compose)
    prometheus = mounts(svc["prometheus"])
    assert prometheus["/etc/prometheus/prometheus.yml"] == "./deploy/prometheus/prometheus.yml"
    config = load(DEPLOY / "prometheus" / "prometheus.yml")
    for pattern in config["rule_files"]:
        directory = str(PurePosixPath(pattern).parent)
        assert prometheus[directory] == "./deploy/prometheus/rules"
    alertmanager = mounts(svc["alertmanager"])
    config_flag = next(a for a in svc["alertmanager"]["command"] if a.startswith("--config.file"))
    assert alertmanager[config_flag.split("=", 1)[1]] == "./deploy/alertmanager/alertmanager.yml"
    grafana = mounts(svc["grafana"])
    assert grafana["/etc/grafana/provisioning"] == "./grafana/provisioning"
    provider = load(REPO / "grafana" / "provisioning" / "dashboards" / "cckpi.yml")
    path = provider["providers"][0]["options"]["path"]
    assert grafana[path] == "./grafana/dashboards"


def test_prometheus_scrapes_the_worker_and_alerts(compose: dict[str, Any]) -> None:
    config = load(DEPLOY / "prometheus" / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker = jobs[DEFAULT_OPTIONS.worker_job]
    assert worker["static_configs"][0]["targets"] == [f"worker:{WEB_PORT}"]
    targets = config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    assert targets == ["alertmanager:9093"]


@pytest.mark.prometheus
def test_promtool_accepts_prometheus_config(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not found: apt-get install prometheus (make test installs it)")
    config = load(DEPLOY / "prometheus" / "prometheus.yml")
    config["rule_files"] = [str(DEPLOY / "prometheus" / "rules" / "*.yml")]
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    result = subprocess.run(
        [promtool, "check", "config", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 2 rule files found" in result.stdout + result.stderr


def test_alertmanager_routes_to_known_receivers_and_inhibits_known_alerts() -> None:
    config = load(DEPLOY / "alertmanager" / "alertmanager.yml")
    receivers = {receiver["name"] for receiver in config["receivers"]}
    routes = [config["route"], *config["route"].get("routes", [])]
    assert {route["receiver"] for route in routes} <= receivers
    pipeline = {rule["alert"] for rule in build_pipeline_rules()["groups"][0]["rules"]}
    for rule in config["inhibit_rules"]:
        for matcher in rule["source_matchers"]:
            name = matcher.split("=", 1)[1].strip('"')
            assert name in pipeline, f"inhibit source {name} is no alert"


def test_grafana_datasource_points_at_prometheus() -> None:
    config = load(REPO / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    source = config["datasources"][0]
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    assert source["isDefault"] is True


def test_dockerfile() -> None:
    lines = (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
    instructions = [line.split(None, 1) for line in lines if line and not line.startswith("#")]
    first = {word: rest for word, *rest in instructions}
    assert first["FROM"] == ["python:3.11-slim"]
    assert any(word == "RUN" and "pip install ." in rest[0] for word, *rest in instructions)
    assert first["ENTRYPOINT"] == ['["cckpi"]']
    assert first["CMD"] == ['["worker"]']
    assert first["EXPOSE"] == [str(WEB_PORT)]
    assert first["USER"][0].split(":")[0] != "0"
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    for word, *rest in instructions:
        if word == "COPY" and "--from" not in rest[0]:
            *sources, _ = rest[0].split()
            for source in sources:
                exists = (REPO / source).exists() or f'readme = "{source}"' in pyproject
                assert exists, f"Dockerfile copies {source}, which is missing"


# --------------------------------------------------------------------------- k8s


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    kustomization = load(K8S / "kustomization.yaml")
    found = {}
    for resource in kustomization["resources"]:
        for document in yaml.safe_load_all((K8S / resource).read_text(encoding="utf-8")):
            found[(document["kind"], document["metadata"]["name"])] = document
    return found


def test_kustomization_generates_the_config_and_env() -> None:
    kustomization = load(K8S / "kustomization.yaml")
    generators = {gen["name"]: gen for gen in kustomization["configMapGenerator"]}
    assert generators["cckpi-config"]["files"] == ["cckpi.yaml"]
    literals = dict(item.split("=", 1) for item in generators["cckpi-env"]["literals"])
    assert literals["CCKPI_WEB_BIND"] == "0.0.0.0"  # noqa: S104 - inside the pod
    assert literals["CCKPI_WEB_PORT"] == str(WEB_PORT)
    assert "CCKPI_KAFKA_BOOTSTRAP_SERVERS" in literals


def test_deployment_probes_resources_config_and_scrape_annotations(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = manifests[("Deployment", "cckpi-worker")]
    pod = deployment["spec"]["template"]
    annotations = pod["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(WEB_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    spec = pod["spec"]
    worker = next(c for c in spec["containers"] if c["name"] == "worker")
    assert worker["args"] == ["worker"]
    ports = {port["name"]: port["containerPort"] for port in worker["ports"]}
    assert ports["web"] == WEB_PORT
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = worker[probe]["httpGet"]
        assert get["path"] == "/health" and ports[get["port"]] == WEB_PORT, probe
    for kind in ("requests", "limits"):
        assert set(worker["resources"][kind]) == {"cpu", "memory"}
    env = {item["name"]: item.get("value") for item in worker["env"]}
    config_path = PurePosixPath(env["CCKPI_CONFIG"])
    mount = next(m for m in worker["volumeMounts"] if m["mountPath"] == str(config_path.parent))
    volume = next(v for v in spec["volumes"] if v["name"] == mount["name"])
    assert volume["configMap"]["name"] == "cckpi-config"
    assert config_path.name == "cckpi.yaml"
    assert worker["envFrom"][0]["configMapRef"]["name"] == "cckpi-env"
    assert spec["securityContext"]["runAsNonRoot"] is True
    init = spec["initContainers"][0]
    assert init["args"] == ["topics"]


def test_service_and_servicemonitor_select_the_worker(
    manifests: dict[tuple[str, str], dict[str, Any]],
) -> None:
    pod_labels = manifests[("Deployment", "cckpi-worker")]["spec"]["template"]["metadata"]["labels"]
    service = manifests[("Service", DEFAULT_OPTIONS.worker_job)]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["port"] == WEB_PORT
    monitor = manifests[("ServiceMonitor", "cckpi")]
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    endpoint = monitor["spec"]["endpoints"][0]
    assert endpoint["port"] == service["spec"]["ports"][0]["name"]
    assert endpoint["path"] == "/metrics"


def test_generated_k8s_files_are_current(tmp_path: Path) -> None:
    written = write_k8s(DEPLOY / "cckpi.yaml", tmp_path)
    for path in written:
        committed = K8S / path.name
        assert committed.read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"deploy/k8s/{path.name} is stale: regenerate with streams.generate.k8s.write_k8s"
        )
    rule = load(K8S / "prometheusrule.yaml")
    assert rule == yaml.safe_load(render(build_prometheus_rule(load_config(DEPLOY / "cckpi.yaml"))))
    assert [group["name"] for group in rule["spec"]["groups"]] == [
        "cckpi-targets",
        "cckpi-pipeline",
    ]


def test_kustomize_builds() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl not installed: the kustomization is checked by parsing only")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    kinds = {doc["kind"] for doc in yaml.safe_load_all(result.stdout)}
    assert kinds == {
        "Namespace",
        "ConfigMap",
        "Service",
        "Deployment",
        "ServiceMonitor",
        "PrometheusRule",
    }
