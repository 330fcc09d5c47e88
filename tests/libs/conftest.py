"""Fixtures the library tests share beyond the session's (tests/conftest.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest_asyncio

from tests.libs.store.received import Receiving, own_country, receiving_connection

if TYPE_CHECKING:
    import asyncpg


@pytest_asyncio.fixture
async def receiving(store_db: asyncpg.Pool[Any]) -> Receiving:
    """An active receiving connection of a country of its own: only its test sees it."""
    async with store_db.acquire() as conn:
        return await receiving_connection(conn, own_country())
