"""deploy/prometheus/alerts.yml: well-formed rules, valid PromQL, and a runbook for each alert."""

from __future__ import annotations

import re
from typing import Any

import promql_parser
import pytest
import yaml

from tests.deploy.metric_names import ALERTS, DEPLOY, load_alert_rules, promql_metric_names

RUNBOOK = DEPLOY / "RUNBOOK.md"
RUNBOOK_URL = re.compile(r"^deploy/RUNBOOK\.md#(?P<anchor>[a-z0-9-]+)$")
SEVERITIES = {"critical", "warning", "info"}
# Prometheus's duration syntax (what `for:` takes).
DURATION = re.compile(r"^(\d+(ms|s|m|h|d|w|y))+$")


def _anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading: lowercase, punctuation out, spaces to -."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _runbook_anchors() -> set[str]:
    return {
        _anchor(line.lstrip("#"))
        for line in RUNBOOK.read_text().splitlines()
        if re.match(r"^#{1,6} ", line)
    }


def _rules() -> list[dict[str, Any]]:
    return load_alert_rules()


def test_the_file_is_groups_of_named_rules() -> None:
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    names = [group["name"] for group in document["groups"]]
    assert len(names) == len(set(names)), "group names must be unique"
    for group in document["groups"]:
        assert group["rules"], group["name"]
        for rule in group["rules"]:
            # Only alerting rules here: a recording rule would need its own checks.
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert "alert" in rule


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_each_alert_is_valid_promql_with_severity_and_annotations(rule: dict[str, Any]) -> None:
    promql_parser.parse(rule["expr"])  # raises on a syntax error
    assert DURATION.match(str(rule["for"])), rule["for"]
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert annotations["description"].strip()
    assert RUNBOOK_URL.match(annotations["runbook_url"]), annotations["runbook_url"]


@pytest.mark.parametrize("rule", _rules(), ids=lambda rule: rule["alert"])
def test_each_runbook_url_anchor_is_a_heading_of_the_runbook(rule: dict[str, Any]) -> None:
    match = RUNBOOK_URL.match(rule["annotations"]["runbook_url"])
    assert match
    assert match["anchor"] in _runbook_anchors(), f"RUNBOOK.md has no #{match['anchor']}"


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in _rules()]
    assert len(names) == len(set(names))


def _alerts_on(metric: str) -> list[dict[str, Any]]:
    return [rule for rule in _rules() if metric in promql_metric_names(rule["expr"])]


def test_the_conditions_the_issue_asks_for_are_all_alerted_on() -> None:
    lag = _alerts_on("clearway_consumer_lag_messages")
    assert any("deriv(" in rule["expr"] for rule in lag), "no alert on lag that keeps growing"
    stage = _alerts_on("clearway_stage_messages_total")
    assert any("failed" in rule["expr"] for rule in stage), "no alert on a stage's error rate"
    dlq = _alerts_on("clearway_dlq_depth_messages")
    assert any(re.search(r">\s*0\b", rule["expr"]) for rule in dlq), "no alert on a non-empty DLQ"
    tokens = _alerts_on("clearway_connection_token_expiry_horizon_seconds")
    assert any("604800" in rule["expr"] for rule in tokens), "no alert on 7 days to expiry"
    government = _alerts_on("clearway_government_call_duration_seconds_count")
    assert any(
        all(s in rule["expr"] for s in ("connect_error", "timeout", "connection_lost", "5.."))
        for rule in government
    ), "no alert on a government that does not answer"
    assert any(rule["expr"].strip() == "up == 0" for rule in _alerts_on("up"))


def test_the_anchor_function_matches_githubs_rules() -> None:
    # The check above is only as good as this: GitHub keeps - and _, drops other punctuation.
    assert _anchor(" ClearwayServiceDown") == "clearwayservicedown"
    assert _anchor("Finding one invoice") == "finding-one-invoice"
    assert _anchor("Partitions vs. replicas (Kafka)") == "partitions-vs-replicas-kafka"
