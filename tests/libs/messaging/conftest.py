"""A Kafka-protocol broker of its own (the stack's, memory-only, without the services) for the
tests of what publishes to a real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from clearway.messaging import create_topics

from services.stack.infra import broker_command, free_port, spawn, stop_processes, wait_for_port


@pytest_asyncio.fixture(scope="session")
async def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[str]:
    """The broker's bootstrap address, every Clearway topic created."""
    port = free_port()
    broker = spawn(broker_command(port), log_path=tmp_path_factory.mktemp("broker") / "broker.log")
    try:
        await wait_for_port(port)
        bootstrap = f"127.0.0.1:{port}"
        await create_topics(bootstrap)
        yield bootstrap
    finally:
        stop_processes([broker])
