"""Two "replicas" of a service: two pools on one migrated database of its own, as two processes
would hold them."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from clearway.db import create_pool, migrate

from services.stack.infra import provision_database


@pytest_asyncio.fixture(scope="session")
async def replicas(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[asyncpg.Pool[Any], asyncpg.Pool[Any]]]:
    database = await provision_database(
        f"clearway_limits_{secrets.token_hex(4)}", tmp_path_factory.mktemp("limits")
    )
    await migrate(database.url)
    first = await create_pool(database.url, min_size=1, max_size=5)
    second = await create_pool(database.url, min_size=1, max_size=5)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()
        await database.drop()
        database.stop_embedded()
