"""Every metric the dashboards and alert rules query is one Clearway's processes export.

Two layers: offline, against the names declared in clearway.observability.metrics and the
libraries' own collectors; and, with the stack running, against what each process really
serves on /metrics (a metric declared but never registered in a process fails only there).
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from services.stack.stack import WORKERS, Stack
from tests.deploy.metric_names import (
    PROMETHEUS_NAMES,
    declared_clearway_names,
    library_names,
    promql_metric_names,
    referenced_names,
    sample_names,
)


def test_promql_names_are_read_from_selectors_only() -> None:
    # The extraction everything below relies on: label names, functions, keywords and
    # Grafana's variables are not metric names.
    expr = (
        'sum by (stage, le) (rate(a_bucket{country=~"$country"}[$__rate_interval]))'
        " / on (stage) group_left sum(b_total offset 5m) and histogram_quantile(0.9, c)"
        " unless max_over_time(d[1h:5m])"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b_total", "c", "d"}
    with pytest.raises(ValueError, match="metric name"):
        promql_metric_names('{__name__="hidden"}')
    with pytest.raises(ValueError):  # noqa: PT011 - the parser's messages vary
        promql_metric_names("rate(a[5m]")


def test_sample_names_follow_prometheus_client_suffixes() -> None:
    assert sample_names("x", "counter") == {"x_total", "x_created"}
    assert sample_names("x", "histogram") >= {"x_bucket", "x_sum", "x_count"}
    assert sample_names("x", "gauge") == {"x"}


def test_the_library_allow_list_has_the_names_dashboards_use() -> None:
    # Read from FastStream's and prometheus_client's own classes, not typed in by hand.
    names = library_names()
    assert {
        "faststream_received_messages_total",
        "faststream_received_messages_in_process",
        "faststream_received_processed_messages_exceptions_total",
        "faststream_published_messages_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
    } <= names


def test_every_queried_metric_is_declared_by_clearway_or_its_libraries() -> None:
    known = declared_clearway_names() | library_names() | PROMETHEUS_NAMES
    unknown = referenced_names() - known
    assert not unknown, f"dashboards or alerts query metrics nothing exports: {sorted(unknown)}"


@pytest.mark.stack
async def test_every_queried_metric_is_served_by_a_running_process(stack: Stack) -> None:
    urls = stack.http_urls
    assert {*WORKERS, "intake", "govsim"} <= set(urls)
    live: set[str] = set()
    async with httpx.AsyncClient(timeout=10) as http:
        for name, base in urls.items():
            response = await http.get(f"{base}/metrics")
            assert response.status_code == 200, name
            # A family is listed (# TYPE) from registration on, before any sample.
            for family in text_string_to_metric_families(response.text):
                live |= sample_names(family.name, family.type)
    missing = referenced_names() - live - PROMETHEUS_NAMES
    assert not missing, f"no running process serves {sorted(missing)}"


@pytest.mark.stack
async def test_every_process_answers_the_probes_kubernetes_and_compose_use(stack: Stack) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        for name, base in stack.http_urls.items():
            assert (await http.get(f"{base}/healthz")).status_code == 200, name
            # The stack is up and connected: every process is ready.
            assert (await http.get(f"{base}/readyz")).status_code == 200, name
