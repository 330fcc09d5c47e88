"""What an SRE sees of one invoice: one trace across every service, its id on every event and
log line, and every process's /metrics, /healthz and /readyz counting what happened."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from services.stack.stack import Stack
from tests.conftest import FIXTURES
from tests.otlp_receiver import OtlpReceiver
from tests.services.webhook_dispatcher.webhooktools import (
    create_endpoint,
    running_receiver,
    wait_for_delivery,
)

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.kafka]

# The services an RO invoice passes through, as their spans name them (service.name).
PATH_OF_AN_RO_INVOICE = {
    "intake",
    "validator",
    "converter",
    "submitter_ro",
    "poller",
    "webhook_dispatcher",
    "govsim",
}

# Spans Clearway makes itself where work leaves Kafka for a schedule in PostgreSQL.
OUR_SPANS = {"submit RO", "poll RO status", "deliver webhook"}


@dataclass(frozen=True)
class Followed:
    invoice_id: str
    trace_id: str
    events: list[asyncpg.Record]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def followed(stack: Stack, db: asyncpg.Pool[Any]) -> AsyncIterator[Followed]:
    """The seed invoice, accepted, with its accepted webhook delivered."""
    seed_invoice = json.loads((FIXTURES / "seed_ro_invoice.json").read_text())
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with (
        running_receiver() as receiver,
        httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=30) as api,
    ):
        url = receiver.route()
        endpoint = await create_endpoint(api, url, ["invoice.accepted"])
        try:
            body = {**seed_invoice, "invoiceNumber": f"OBS-{secrets.token_hex(4)}"}
            response = await api.post(
                "/v1/invoices", json=body, headers={"X-Idempotency-Key": secrets.token_hex(8)}
            )
            assert response.status_code == 201, response.text
            invoice_id = response.json()["data"]["id"]
            delivered = await receiver.wait_for(url, 1, timeout=90)
            accepted = json.loads(delivered[0].body)["data"]
            assert (accepted["invoiceId"], accepted["status"]) == (invoice_id, "accepted")
            # The receiver saw the request before the dispatcher recorded the answer; deleting
            # the endpoint in between would drop the record (and the count the figures test reads).
            await wait_for_delivery(api, endpoint["id"], lambda d: d["status"] == "delivered")
        finally:
            await api.delete(f"/v1/webhook-endpoints/{endpoint['id']}")
    events = await db.fetch(
        "SELECT type, trace_id, span_id FROM events WHERE stream_id = $1 ORDER BY version",
        invoice_id,
    )
    yield Followed(invoice_id, events[0]["trace_id"], events)


async def test_every_event_of_an_invoice_names_one_trace_and_its_own_span(
    followed: Followed,
) -> None:
    assert [e["type"] for e in followed.events][-1] == "invoice.accepted"
    assert len(followed.trace_id) == 32
    assert {e["trace_id"] for e in followed.events} == {followed.trace_id}
    spans = [e["span_id"] for e in followed.events]
    assert all(span and len(span) == 16 for span in spans)
    assert len(set(spans)) == len(spans)  # each recorded by a different handler's span


async def test_one_invoice_is_one_trace_from_the_request_to_the_webhook(
    followed: Followed, otlp_receiver: OtlpReceiver
) -> None:
    deadline = time.monotonic() + 30
    while True:
        spans = otlp_receiver.spans_of(followed.trace_id)
        services = {span.service for span in spans}
        ids = {span.span_id for span in spans}
        names = {span.name for span in spans}
        orphans = [s for s in spans if s.parent_span_id and s.parent_span_id not in ids]
        if services >= PATH_OF_AN_RO_INVOICE and names >= OUR_SPANS and not orphans:
            break
        if time.monotonic() > deadline:
            pytest.fail(
                f"trace {followed.trace_id}: services {sorted(services)}, "
                f"missing spans {sorted(OUR_SPANS - names)}, "
                f"{len(orphans)} span(s) whose parent never arrived"
            )
        await asyncio.sleep(0.5)
    roots = [span for span in spans if not span.parent_span_id]
    assert [(root.service, root.name) for root in roots] == [("intake", "POST /v1/invoices")], [
        (span.service, span.name, span.span_id, span.parent_span_id) for span in spans
    ]
    # The events' spans are part of it: the trace is the invoice's whole path.
    assert {e["span_id"] for e in followed.events} <= ids


def _samples(text: str) -> tuple[set[str], list[Sample]]:
    families = list(text_string_to_metric_families(text))
    return {f.name for f in families}, [s for f in families for s in f.samples]


def _value(samples: list[Sample], name: str, **labels: str) -> float:
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


async def _metrics(stack: Stack) -> dict[str, tuple[set[str], list[Sample]]]:
    async with httpx.AsyncClient(timeout=10) as http:
        texts = {
            name: (await http.get(f"{url}/metrics")).text for name, url in stack.http_urls.items()
        }
    return {name: _samples(text) for name, text in texts.items()}


async def test_every_process_is_live_ready_and_serves_metrics(stack: Stack) -> None:
    assert set(stack.http_urls) >= {"intake", "govsim", "validator", "redriver"}
    async with httpx.AsyncClient(timeout=10) as http:
        for name, url in stack.http_urls.items():
            assert (await http.get(f"{url}/healthz")).status_code == 200, name
            assert (await http.get(f"{url}/readyz")).status_code == 200, name
            metrics = await http.get(f"{url}/metrics")
            assert metrics.headers["content-type"].startswith("text/plain"), name
            families, _ = _samples(metrics.text)
            assert "process_cpu_seconds" in families, name


async def test_the_figures_count_the_invoice_at_every_stage(
    followed: Followed, stack: Stack
) -> None:
    assert followed.invoice_id
    deadline = time.monotonic() + 30  # lag and DLQ depth are read every 5 and 15 s
    while True:
        metrics = await _metrics(stack)
        lag_read = any(s.name == "clearway_consumer_lag_messages" for s in metrics["validator"][1])
        dlq_read = any(s.name == "clearway_dlq_depth_messages" for s in metrics["redriver"][1])
        delivered = _value(metrics["webhook_dispatcher"][1], "clearway_webhook_deliveries_total")
        if (lag_read and dlq_read and delivered) or time.monotonic() > deadline:
            break
        await asyncio.sleep(1)
    samples = {name: found[1] for name, found in metrics.items()}
    processed = "clearway_stage_messages_total"
    for service, stage in [
        ("validator", "validator"),
        ("converter", "converter"),
        ("submitter_ro", "submitter-ro"),
        ("poller", "poller"),
        ("webhook_dispatcher", "webhook-dispatcher"),
    ]:
        found = _value(samples[service], processed, stage=stage, country="RO", outcome="processed")
        assert found >= 1, service
    assert _value(samples["validator"], "clearway_stage_duration_seconds_count", country="RO") >= 1
    assert _value(samples["validator"], "clearway_stage_queue_delay_seconds_count") >= 1
    assert any(
        s.name == "clearway_consumer_lag_messages" and s.labels["topic"] == "invoice.created"
        for s in samples["validator"]
    )
    calls = "clearway_government_call_duration_seconds_count"
    assert _value(samples["submitter_ro"], calls, country="RO", endpoint="POST /upload") >= 1
    list_read = "GET /listaMesajePaginatieFactura"  # how the poller follows RO uploads
    assert _value(samples["poller"], calls, country="RO", endpoint=list_read) >= 1
    waits = "clearway_rate_limit_wait_seconds_count"
    assert _value(samples["submitter_ro"], waits, limit="anaf:calls") >= 1
    decided = "clearway_invoice_decisions_total"
    assert _value(samples["poller"], decided, country="RO", status="accepted") >= 1
    assert _value(samples["webhook_dispatcher"], "clearway_webhook_deliveries_total") >= 1
    horizon = [
        s.value
        for s in samples["token_refresher"]
        if s.name == "clearway_connection_token_expiry_horizon_seconds"
        and s.labels["country"] == "RO"
    ]
    assert horizon
    assert horizon[0] > 0
    assert any(
        s.name == "clearway_dlq_depth_messages" and s.labels["topic"] == "invoice.created.dlq"
        for s in samples["redriver"]
    )
    requests = "clearway_http_requests_total"
    assert (
        _value(samples["intake"], requests, method="POST", route="/v1/invoices", status="201") >= 1
    )
    assert _value(samples["intake"], "clearway_outbox_published_messages_total") >= 1
    assert _value(samples["validator"], "faststream_received_messages_total") >= 1


async def test_log_lines_are_json_naming_the_service_trace_and_invoice(
    followed: Followed, stack: Stack
) -> None:
    mentioning: dict[str, list[dict[str, Any]]] = {}
    for path in stack.log_dir.glob("*.log"):
        if path.stem == "broker":
            continue  # the broker is not ours
        for line in path.read_text(errors="replace").splitlines():
            entry = json.loads(line)  # every line of a Clearway process is one JSON object
            assert {"time", "level", "service", "message", "trace_id"} <= set(entry), line
            assert "sk_test_" not in line, line  # no key
            assert "TechVision" not in line, line  # no invoice body
            if entry["invoice_id"] == followed.invoice_id:
                mentioning.setdefault(entry["service"], []).append(entry)
    assert mentioning, "no log line names the invoice"
    for entries in mentioning.values():
        assert {e["trace_id"] for e in entries} == {followed.trace_id}
