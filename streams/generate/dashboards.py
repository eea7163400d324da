"""Grafana dashboards as JSON models, generated with grafana-foundation-sdk.

:func:`build_dashboards` returns ``uid -> dashboard JSON``; :func:`write_dashboards`
writes ``<uid>.json`` files for Grafana's file provisioning. Thresholds come
from the targets of the config, the same numbers as the alert rules.

For tests that run the panels' queries against a real Prometheus,
:func:`panel_queries` lists every (panel title, PromQL) pair with the template
variables replaced by :func:`substitute`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from grafana_foundation_sdk.cog.encoder import JSONEncoder

from streams.config import AppConfig
from streams.generate.boards import agents_board, experience_board, queues_board, tickets_board
from streams.generate.ops_boards import pipeline_board, targets_board
from streams.generate.rules import DEFAULT_OPTIONS, RuleOptions

DEFAULT_VARIABLES: dict[str, str] = {
    "datasource": "prometheus",
    "team": ".+",
    "queue": ".+",
    "agent": ".+",
    "period": "day",
    "clock": "business",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}
"""Values a query needs when no dashboard is around: "All" for team/queue/agent, the
default period and clock, and Grafana's built-in interval variables."""

_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)")


class UnknownVariable(KeyError):
    """A query uses a template variable the caller gave no value for."""


def substitute(expr: str, variables: Mapping[str, str]) -> str:
    """Replace Grafana template variables (``$x``, ``${x}``, ``${x:fmt}``, ``[[x]]``) in ``expr``.

    Values are inserted verbatim: pass ``".+"`` for "All" (the variables' all
    value) or a plain name such as ``"support"``.
    """

    def replace(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group is not None)
        if name not in variables:
            raise UnknownVariable(f"no value for ${name} in {expr!r}")
        return variables[name]

    return _VARIABLE.sub(replace, expr)


def _panels(model: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in model.get("panels") or []:
        yield panel
        yield from _panels(panel)


def iter_panels(dashboard: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a dashboard JSON model that is not a row, nested ones included."""
    return [panel for panel in _panels(dashboard) if panel.get("type") != "row"]


def panel_queries(
    dashboard: Mapping[str, Any], variables: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """(panel title, PromQL) for every query of every panel, variables substituted.

    ``variables`` is laid over :data:`DEFAULT_VARIABLES` ("All" for team, queue
    and agent, period ``day``, clock ``business``, ``$__rate_interval`` 1m), so
    ``panel_queries(board, {"team": "support", "period": "hour"})`` is enough.
    """
    values = DEFAULT_VARIABLES | dict(variables or {})
    return [
        (panel["title"], substitute(target["expr"], values))
        for panel in iter_panels(dashboard)
        for target in panel.get("targets") or []
        if target.get("expr")
    ]


def _number(model: dict[str, Any]) -> dict[str, Any]:
    """Give every panel (rows included) a stable id, in layout order."""
    for number, panel in enumerate(_panels(model), start=1):
        panel["id"] = number
    return model


def build_dashboards(
    config: AppConfig, options: RuleOptions = DEFAULT_OPTIONS
) -> dict[str, dict[str, Any]]:
    """Every dashboard as ``uid -> JSON model`` (plain dicts, ready for ``json.dumps``)."""
    boards = [
        queues_board(config),
        tickets_board(config),
        experience_board(config),
        agents_board(config),
        targets_board(config),
        pipeline_board(options),
    ]
    models: dict[str, dict[str, Any]] = {}
    for board in boards:
        model = json.loads(json.dumps(board.build(), cls=JSONEncoder))
        models[model["uid"]] = _number(model)
    return models


def render(model: Mapping[str, Any]) -> str:
    return json.dumps(model, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_dashboards(
    config: AppConfig, out_dir: Path, options: RuleOptions = DEFAULT_OPTIONS
) -> list[Path]:
    """Write ``<uid>.json`` for every dashboard into ``out_dir`` (``grafana/dashboards``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for uid, model in build_dashboards(config, options).items():
        path = out_dir / f"{uid}.json"
        path.write_text(render(model), encoding="utf-8")
        written.append(path)
    return written
