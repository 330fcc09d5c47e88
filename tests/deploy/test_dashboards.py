"""deploy/grafana: dashboards Grafana can load, wired to the datasource it provisions."""

from __future__ import annotations

import pytest
import yaml

from tests.deploy.metric_names import (
    DASHBOARDS,
    DEPLOY,
    dashboard_exprs,
    declared_clearway_families,
    load_dashboards,
    names_in,
    panels,
    parse_promql,
    referenced_names,
    sample_names,
)

GRID_WIDTH = 24
# Grafana 10.4+ writes 39; older files are migrated on load, but a newer Grafana is assumed.
MIN_SCHEMA_VERSION = 36
DATASOURCES = DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml"
# The sections the issue asks for, each with the metric that shows it.
REQUIRED_CONTENT = {
    "clearway-pipeline.json": {
        "clearway_stage_messages_total",  # throughput and failures per stage
        "clearway_stage_duration_seconds_bucket",  # stage latency percentiles
        "clearway_stage_queue_delay_seconds_bucket",
        "clearway_consumer_lag_messages",
        "clearway_outbox_published_messages_total",
        "clearway_dlq_depth_messages",
        "clearway_invoice_time_to_decision_seconds_bucket",
    },
    "clearway-governments.json": {
        "clearway_government_call_duration_seconds_bucket",
        "clearway_government_call_duration_seconds_count",
        "clearway_rate_limit_wait_seconds_bucket",
        "clearway_daily_quota_exhausted_total",
        "clearway_retries_total",
    },
    "clearway-webhooks.json": {
        "clearway_webhook_deliveries_total",
        "clearway_webhook_delivery_duration_seconds_bucket",
    },
    "clearway-connections.json": {"clearway_connection_token_expiry_horizon_seconds"},
    "clearway-http.json": {
        "clearway_http_requests_total",
        "clearway_http_request_duration_seconds_bucket",
    },
}
BOARDS = load_dashboards()


def _prometheus_uid() -> str:
    datasources = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    (prometheus,) = [d for d in datasources if d["type"] == "prometheus"]
    uid: str = prometheus["uid"]
    return uid


def _overlap(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def test_the_dashboards_the_issue_asks_for_exist() -> None:
    assert set(REQUIRED_CONTENT) <= set(BOARDS), sorted(BOARDS)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboard_has_the_fields_grafana_needs(name: str) -> None:
    board = BOARDS[name]
    assert board["uid"]
    assert len(board["uid"]) <= 40  # Grafana's limit
    assert board["title"]
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= MIN_SCHEMA_VERSION
    assert board["panels"]
    # Provisioned from files: a fixed id would clash with the database's.
    assert board.get("id") is None


def test_dashboard_uids_and_titles_are_unique() -> None:
    uids = [board["uid"] for board in BOARDS.values()]
    titles = [board["title"] for board in BOARDS.values()]
    assert len(set(uids)) == len(uids)
    assert len(set(titles)) == len(titles)


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_panels_are_laid_out_on_the_grid_without_overlapping(name: str) -> None:
    placed: list[tuple[str, dict[str, int]]] = []
    ids = []
    for panel in panels(BOARDS[name]):
        ids.append(panel["id"])
        assert panel["type"], panel
        assert panel["title"], panel
        grid = panel["gridPos"]
        for key in ("h", "w", "x", "y"):
            assert isinstance(grid[key], int), (panel["title"], key)
        assert grid["w"] > 0
        assert grid["h"] > 0
        assert grid["x"] >= 0
        assert grid["x"] + grid["w"] <= GRID_WIDTH, panel["title"]
        for other_title, other in placed:
            assert not _overlap(grid, other), f"{panel['title']!r} overlaps {other_title!r}"
        placed.append((panel["title"], grid))
    assert len(ids) == len(set(ids)), "panel ids must be unique within a dashboard"


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_every_query_uses_the_provisioned_prometheus_and_parses(name: str) -> None:
    uid = _prometheus_uid()
    for panel in panels(BOARDS[name]):
        if panel["type"] == "row":
            assert not panel.get("targets"), "a row shows no data"
            continue
        assert panel["targets"], f"{panel['title']!r} has no query"
        assert panel["datasource"]["uid"] == uid, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid, panel["title"]
            # Raises ValueError with the parser's message on invalid PromQL.
            parse_promql(target["expr"])
    for variable in BOARDS[name].get("templating", {}).get("list", []):
        if variable["type"] == "query":
            assert variable["datasource"]["uid"] == uid, variable["name"]


@pytest.mark.parametrize("name", sorted(REQUIRED_CONTENT))
def test_dashboard_shows_what_the_issue_asks_of_it(name: str) -> None:
    missing = REQUIRED_CONTENT[name] - names_in(dashboard_exprs(BOARDS[name]))
    assert not missing, f"{name} does not show {sorted(missing)}"


def test_every_clearway_metric_is_on_some_dashboard_or_alert() -> None:
    # A metric nobody can see is a metric nobody watches: each family appears at least once.
    used = referenced_names()
    unseen = {
        family
        for family, kind in declared_clearway_families().items()
        if not sample_names(family, kind) & used
    }
    assert not unseen, sorted(unseen)


def test_dashboards_folder_holds_only_dashboards() -> None:
    assert {path.suffix for path in DASHBOARDS.iterdir()} == {".json"}
