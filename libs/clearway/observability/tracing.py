"""OpenTelemetry: one trace per invoice, from the HTTP request (or intake message) to the webhook.

Within a process the SDK carries the context; between processes it travels in the Kafka
headers (FastStream's KafkaTelemetryMiddleware). Clearway's hops also pass through PostgreSQL —
the outbox, the submission and poll schedules, the webhook deliveries — so each of those rows
keeps the `traceparent` of the span that wrote it, and whoever picks the row up continues that
trace (`continued`). Every event stores its trace and span id.

Spans are always made (the ids go into events and logs); they are exported only when the
standard OTEL_* variables ask for it (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_TRACES_EXPORTER=otlp).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()
_SAMPLED = "01"


def exporting() -> bool:
    """Whether the OTEL_* variables ask for spans to be sent anywhere."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER")
    if exporter is not None:
        return exporter.strip().lower() == "otlp"
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def configure_tracing(service: str, exporter: SpanExporter | None = None) -> TracerProvider:
    """The process's tracer provider, named after the service; OTLP over HTTP when asked for."""
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    if exporter is None and exporting():
        # Imported here: a process that exports nothing does not load the protobuf stack.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )

        exporter = OTLPSpanExporter()
    if exporter is not None:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    # Government calls and webhook deliveries go through httpx: each is a client span.
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor  # noqa: PLC0415

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return provider


def tracer() -> trace.Tracer:
    return trace.get_tracer("clearway")


def current_ids() -> tuple[str, str] | tuple[None, None]:
    """(trace id, span id) of the current span as 32 and 16 hex digits, if there is one."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None, None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def current_traceparent() -> str | None:
    trace_id, span_id = current_ids()
    return traceparent_of(trace_id, span_id)


def traceparent_of(trace_id: str | None, span_id: str | None) -> str | None:
    """The W3C traceparent naming that span as the parent, or None when either is missing."""
    if not trace_id or not span_id:
        return None
    return f"00-{trace_id}-{span_id}-{_SAMPLED}"


@contextmanager
def continued(traceparent: str | None) -> Iterator[None]:
    """Run the block as part of the trace `traceparent` names; without one (or with one that
    is not a traceparent) as the start of a trace of its own. Never in whatever context the
    caller was in: a batch's consumer runs each message in it, and the batch's span is not
    the message's trace."""
    # extract() builds on an empty context, not the current one.
    carrier = {"traceparent": traceparent} if traceparent else {}
    token = otel_context.attach(_PROPAGATOR.extract(carrier))
    try:
        yield
    finally:
        otel_context.detach(token)
