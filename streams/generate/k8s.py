"""Generated parts of the Kubernetes manifests in ``deploy/k8s/``.

Kustomize only reads files below its own directory, so the two inputs that
live elsewhere are written into ``deploy/k8s/`` here: a PrometheusRule holding
the same rule groups as ``deploy/prometheus/rules/``, and a byte-for-byte copy
of the config file for the ConfigMap generator.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.config import AppConfig, load_config
from streams.generate.rules import (
    DEFAULT_OPTIONS,
    RuleOptions,
    build_pipeline_rules,
    build_rules,
    render,
)

PROMETHEUS_RULE_FILE = "prometheusrule.yaml"
CONFIG_FILE = "cckpi.yaml"


def build_prometheus_rule(
    config: AppConfig, options: RuleOptions = DEFAULT_OPTIONS
) -> dict[str, Any]:
    """A prometheus-operator PrometheusRule with the target and pipeline rule groups."""
    groups = build_rules(config, options)["groups"] + build_pipeline_rules(options)["groups"]
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {
            "name": "cckpi",
            "labels": {"app.kubernetes.io/name": "cckpi-worker", "role": "alert-rules"},
        },
        "spec": {"groups": groups},
    }


def write_k8s(
    config_path: Path, k8s_dir: Path, options: RuleOptions = DEFAULT_OPTIONS
) -> list[Path]:
    """Write ``prometheusrule.yaml`` and a copy of ``config_path`` into ``k8s_dir``."""
    text = config_path.read_text(encoding="utf-8")
    config = load_config(config_path)
    k8s_dir.mkdir(parents=True, exist_ok=True)
    rule_path = k8s_dir / PROMETHEUS_RULE_FILE
    rule_path.write_text(render(build_prometheus_rule(config, options)), encoding="utf-8")
    config_copy = k8s_dir / CONFIG_FILE
    config_copy.write_text(text, encoding="utf-8")
    return [rule_path, config_copy]
