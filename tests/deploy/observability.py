"""What the observability tests share: the files under deploy/observability, Prometheus' tools,
the PromQL of the alerts and the dashboard, and the metric names the platform exports.

The exported names come from the code itself (every ``Counter``, ``Histogram``, ``Gauge``
and scrape-time ``GaugeMetricFamily`` the packages declare), so a dashboard or an alert that
names a metric nobody exports fails, whatever data a test happens to produce.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REQUIRE_SERVICES
from tests.deploy.manifests import DEPLOY, ROOT

OBSERVABILITY = DEPLOY / "observability"
ALERTS = OBSERVABILITY / "prometheus" / "alerts.yaml"
ALERT_TESTS = OBSERVABILITY / "prometheus" / "alerts.test.yaml"
SCRAPE = OBSERVABILITY / "prometheus" / "scrape.yaml"
DASHBOARD = OBSERVABILITY / "grafana" / "edn-dashboard.json"
COLLECTOR = OBSERVABILITY / "otel-collector"

# Prometheus' own series, which no code of ours declares.
PROMETHEUS_SERIES = {"up"}
# What Grafana puts in place of its variables, for Prometheus to parse and evaluate.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
TEMPLATE_VARIABLE = re.compile(r"\$\{?(\w+)\}?")


def prometheus_tool(name: str) -> str:
    """Path of a tool of Debian's ``prometheus`` package; skips without it (fails under
    EDN_REQUIRE_SERVICES=1)."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").is_file() else "")
    if found:
        return found
    reason = f"{name} is not installed (Debian package prometheus; .ci/run installs it)"
    if REQUIRE_SERVICES:
        pytest.fail(f"EDN_REQUIRE_SERVICES=1 but {reason}")
    pytest.skip(reason)


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels(board: dict | None = None) -> list[dict]:
    """Every panel, rows and the panels of collapsed rows included."""
    found = []
    for panel in (board or dashboard())["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def dashboard_expressions() -> list[tuple[str, str]]:
    """(where, PromQL) of every query of the dashboard: panels' targets and variables'."""
    board = dashboard()
    found = [
        (f"panel {panel['id']} {panel['title']!r} {target['refId']}", target["expr"])
        for panel in panels(board)
        for target in panel.get("targets", [])
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            found.append((f"variable {variable['name']}", variable["query"]["query"]))
    return found


def concrete(expr: str) -> str:
    """The PromQL Grafana sends: its interval variables given a value, the dashboard's own
    variables (multi-value, all by default) matching anything. ``label_values(m, l)`` of a
    variable's query becomes ``m``, the series it reads."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    expr = TEMPLATE_VARIABLE.sub(".*", expr)
    values = re.fullmatch(r"label_values\((.*),\s*\w+\)", expr.strip())
    return values[1] if values else expr


_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?!\w)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2"}


def series_in(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (functions, keywords and labels aside)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', concrete(expr))
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = _GROUPING.sub(" ", text)
    return {
        match[1]
        for match in _IDENTIFIER.finditer(text)
        if not match[2] and match[1].lower() not in _KEYWORDS
    }


_KINDS = {
    "Counter": "counter",
    "CounterMetricFamily": "counter",
    "Histogram": "histogram",
    "HistogramMetricFamily": "histogram",
    "Gauge": "gauge",
    "GaugeMetricFamily": "gauge",
}
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def declared_metrics() -> dict[str, str]:
    """name -> kind of every metric the project's packages declare (read from their source)."""
    found = {}
    for package in sorted(p.parent for p in ROOT.glob("*/__init__.py")):
        if package.name in {"tests", "bench", "docs", "deploy"}:
            continue
        for module in package.rglob("*.py"):
            for node in ast.walk(ast.parse(module.read_text(), str(module))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                func = node.func
                name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                first = node.args[0]
                if name in _KINDS and isinstance(getattr(first, "value", None), str):
                    found[first.value] = _KINDS[name]
    return found


@functools.cache
def exported_series() -> frozenset[str]:
    """Every series name the platform's metrics appear under in the Prometheus exposition."""
    names = set(PROMETHEUS_SERIES)
    for name, kind in declared_metrics().items():
        base = name.removesuffix("_total") if kind == "counter" else name
        names |= {base + suffix for suffix in _SUFFIXES[kind]}
    return frozenset(names)
