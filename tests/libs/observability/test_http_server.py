"""Serving HTTP as Clearway's processes do (server_config + instrument_http_service): each
request is its own trace unless its own headers say otherwise, whatever came before it on the
same connection."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from clearway.observability.http import instrument_http_service, server_config
from fastapi import FastAPI, Request
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.stack.infra import free_port

# More than uvicorn reads before it stops reading a body (its HIGH_WATER_LIMIT, 64 KiB): the
# request's own task then resumes reading, which is how a request's context reached the next.
LARGE_BODY = b"x" * 300_000


async def _always_ready() -> bool:
    return True


def _app(provider: TracerProvider) -> FastAPI:
    app = FastAPI()

    @app.post("/large")
    async def large(request: Request) -> dict[str, int]:
        return {"read": len(await request.body())}

    @app.get("/small")
    async def small() -> dict[str, str]:
        return {}

    instrument_http_service(app, "test", _always_ready, tracer_provider=provider)
    return app


@asynccontextmanager
async def _served(provider: TracerProvider) -> AsyncIterator[httpx.AsyncClient]:
    """The app behind a real uvicorn, and one client: one keep-alive connection for all."""
    port = free_port()
    server = uvicorn.Server(
        server_config(_app(provider), host="127.0.0.1", port=port, log_config=None)
    )
    serving = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(10):
            while not server.started:  # noqa: ASYNC110 - uvicorn sets a flag, no event
                await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        server.should_exit = True
        await serving


def _recording() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


async def test_a_request_after_a_large_one_on_the_same_connection_is_a_trace_of_its_own() -> None:
    provider, exporter = _recording()
    async with _served(provider) as client:
        assert (await client.post("/large", content=LARGE_BODY)).json() == {"read": 300_000}
        assert (await client.get("/small")).status_code == 200
    spans = {span.name: span for span in exporter.get_finished_spans()}
    large, small = spans["POST /large"], spans["GET /small"]
    assert large.parent is None
    assert small.parent is None, "the second request was made a child of the first"
    assert small.context.trace_id != large.context.trace_id


async def test_a_request_carrying_a_traceparent_continues_that_trace() -> None:
    provider, exporter = _recording()
    trace_id, parent_id = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    async with _served(provider) as client:
        await client.get("/small", headers={"traceparent": f"00-{trace_id}-{parent_id}-01"})
    (small,) = exporter.get_finished_spans()
    assert small.parent is not None
    assert format(small.parent.span_id, "016x") == parent_id
    assert format(small.context.trace_id, "032x") == trace_id
