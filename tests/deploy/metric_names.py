"""Metric names: the ones deploy/ queries (dashboards, alert rules) and the ones Clearway exports.

A renamed metric breaks a dashboard or an alert silently (PromQL over a missing series is just
empty), so the tests compare the two sets. PromQL is parsed with a real parser (promql-parser),
not a regex: label names, functions and keywords are never mistaken for metric names.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import promql_parser
import yaml
from faststream.prometheus.container import MetricsContainer
from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client.metrics import MetricWrapperBase

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DASHBOARDS = DEPLOY / "grafana" / "dashboards"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"

# Series Prometheus makes itself for every target, not any process's /metrics.
PROMETHEUS_NAMES = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})

# Grafana's built-in range variables: substituted so the expression parses as plain PromQL.
_GRAFANA_RANGES = re.compile(r"\$\{?(__rate_interval|__interval|__range)\b\}?")
_LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(?P<selector>.+?)\s*,\s*\w+\s*\)\s*$")


def sample_names(family: str, kind: str) -> set[str]:
    """The series names a family of this type puts on /metrics (what PromQL can select)."""
    if kind == "counter":
        return {f"{family}_total", f"{family}_created"}
    if kind in {"histogram", "gaugehistogram"}:
        return {f"{family}_bucket", f"{family}_sum", f"{family}_count", f"{family}_created"}
    if kind == "summary":
        return {family, f"{family}_sum", f"{family}_count", f"{family}_created"}
    if kind == "info":
        return {f"{family}_info"}
    return {family}  # gauge, stateset, unknown


def _registry_names(registry: CollectorRegistry) -> set[str]:
    names: set[str] = set()
    for family in registry.collect():
        names |= sample_names(family.name, family.type)
    return names


def declared_clearway_families() -> dict[str, str]:
    """{family name: type} of every metric in clearway.observability.metrics, by importing it."""
    from clearway.observability import metrics  # noqa: PLC0415 - the module under test

    return {
        value._name: value._type  # noqa: SLF001 - prometheus_client has no public accessor
        for value in vars(metrics).values()
        if isinstance(value, MetricWrapperBase)
    }


def declared_clearway_names() -> set[str]:
    """Every series name the metrics in clearway.observability.metrics put on /metrics."""
    names: set[str] = set()
    for family, kind in declared_clearway_families().items():
        names |= sample_names(family, kind)
    return names


def library_names() -> set[str]:
    """Series from FastStream's Prometheus middleware and prometheus_client's default collectors.

    Built from the installed libraries on a throwaway registry, so a FastStream upgrade that
    renames a metric shows up here instead of in an empty panel.
    """
    registry = CollectorRegistry()
    MetricsContainer(registry, custom_label_names=())
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    return _registry_names(registry)


def parse_promql(expr: str) -> promql_parser.Expr:
    """The parsed expression, Grafana's range variables read as 5m; ValueError if invalid."""
    return promql_parser.parse(_GRAFANA_RANGES.sub("5m", expr))


def promql_metric_names(expr: str) -> set[str]:
    """Metric names selected anywhere in a PromQL expression (raises ValueError if invalid)."""
    parsed = parse_promql(expr)
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name is None:
                # {__name__=~"..."} would hide the metric from this check: name it plainly.
                raise ValueError(f"selector without a metric name in {expr!r}")
            names.add(node.name)
        return True

    promql_parser.walk(parsed, visit)
    return names


def load_dashboards() -> dict[str, dict[str, Any]]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS.glob("*.json"))}


def panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those nested in collapsed rows included."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    """Every PromQL expression a dashboard runs: panel targets and variable queries."""
    exprs = [target["expr"] for panel in panels(dashboard) for target in panel.get("targets", [])]
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") != "query":
            continue
        query = variable["query"]
        text = query["query"] if isinstance(query, dict) else query
        match = _LABEL_VALUES.match(text)
        # label_values(selector, label) is Grafana's, not PromQL: its selector is.
        exprs.append(match["selector"] if match else text)
    return exprs


def load_alert_rules() -> list[dict[str, Any]]:
    document: dict[str, Any] = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def names_in(exprs: Iterable[str]) -> set[str]:
    names: set[str] = set()
    for expr in exprs:
        names |= promql_metric_names(expr)
    return names


def referenced_names() -> set[str]:
    """Every metric name the dashboards and alert rules query."""
    exprs = [expr for board in load_dashboards().values() for expr in dashboard_exprs(board)]
    exprs += [rule["expr"] for rule in load_alert_rules()]
    return names_in(exprs)
