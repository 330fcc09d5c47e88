"""The pieces of clearway.observability that need no running stack."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from clearway.db import create_pool
from clearway.messaging import build_broker
from clearway.observability.health import broker_reachable, database_reachable
from clearway.observability.logs import JsonFormatter, log_context
from clearway.observability.tracing import (
    continued,
    current_ids,
    current_traceparent,
    exporting,
    traceparent_of,
)
from clearway.resilience.ratelimit import limit_name
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.stack.infra import free_port


@dataclass(frozen=True)
class Recorded:
    exporter: InMemorySpanExporter
    tracer: trace.Tracer


@pytest.fixture
def recorded() -> Recorded:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    # The global provider can be set once per process: use this provider's tracer directly.
    return Recorded(exporter, provider.get_tracer("test"))


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_spans_are_exported_only_when_the_otel_variables_ask(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: bool
) -> None:
    for name in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
        "OTEL_SDK_DISABLED",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert exporting() is expected


def test_a_traceparent_written_down_continues_the_same_trace(
    recorded: Recorded,
) -> None:
    with recorded.tracer.start_as_current_span("handler"):
        written = current_traceparent()
        trace_id, span_id = current_ids()
    assert written == f"00-{trace_id}-{span_id}-01"
    assert current_traceparent() is None  # outside any span: nothing to continue
    # Later, in another task or process, the row's traceparent is picked up again.
    with continued(written), recorded.tracer.start_as_current_span("picked up"):
        assert current_ids()[0] == trace_id
    handler, picked = recorded.exporter.get_finished_spans()
    assert picked.parent is not None
    assert picked.parent.span_id == handler.context.span_id
    assert picked.context.trace_id == handler.context.trace_id


def test_without_a_traceparent_the_work_starts_its_own_trace(
    recorded: Recorded,
) -> None:
    with continued(None), recorded.tracer.start_as_current_span("alone"):
        pass
    (alone,) = recorded.exporter.get_finished_spans()
    assert alone.parent is None
    assert traceparent_of(None, "00f067aa0ba902b7") is None


def test_a_log_line_is_one_json_object_with_the_invoice_and_the_trace(
    recorded: Recorded,
) -> None:
    record = logging.LogRecord(
        "clearway.test", logging.WARNING, __file__, 1, "%s failed", ("x",), None
    )
    formatter = JsonFormatter("validator")
    with (
        recorded.tracer.start_as_current_span("handler"),
        log_context(invoice_id="inv_1", account_id="acct_1"),
    ):
        inside = json.loads(formatter.format(record))
        trace_id, span_id = current_ids()
    outside = json.loads(formatter.format(record))
    assert inside["service"] == "validator"
    assert inside["message"] == "x failed"
    assert inside["level"] == "WARNING"
    assert (inside["invoice_id"], inside["account_id"]) == ("inv_1", "acct_1")
    assert (inside["trace_id"], inside["span_id"]) == (trace_id, span_id)
    assert (outside["invoice_id"], outside["trace_id"]) == (None, None)
    assert recorded.exporter.get_finished_spans()


def test_rate_limit_figures_name_the_kind_of_limit_not_whose_it_is() -> None:
    assert limit_name("ksef:send:5260250274") == "ksef:send"
    assert limit_name("anaf:calls:https://api.anaf.ro/test/FCTEL/rest") == "anaf:calls"


async def test_nothing_listening_means_not_ready() -> None:
    port = free_port()
    broker = build_broker(f"127.0.0.1:{port}", client_id="readiness-test")
    assert await broker_reachable(broker) is False
    pool: asyncpg.Pool[Any] = await create_pool(
        f"postgresql://nobody@127.0.0.1:{port}/none", min_size=0
    )
    try:
        assert await database_reachable(pool) is False
    finally:
        await pool.close()
