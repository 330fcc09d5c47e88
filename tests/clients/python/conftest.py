"""The client against the API-only stack (tests/conftest.py's api_stack): real HTTP, a real
database, no mocked answers."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from clearway_client import AsyncClearway, Clearway

from services.stack.stack import Stack
from tests.conftest import MakeAccount

SEED_INVOICE = Path(__file__).parents[2] / "fixtures" / "seed_ro_invoice.json"


def seed_invoice_body(**changes: Any) -> dict[str, Any]:
    """The seed's RO invoice (the dev account files it), with a fresh externalId."""
    body: dict[str, Any] = json.loads(SEED_INVOICE.read_text())
    return {**body, "externalId": f"client-{secrets.token_hex(6)}", **changes}


def key_of(client: httpx.AsyncClient) -> str:
    return client.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def client(api_stack: Stack) -> Iterator[Clearway]:
    """The dev account's sandbox key, blocking client."""
    with Clearway(api_stack.api_key, api_stack.api_url) as clearway:
        yield clearway


@pytest_asyncio.fixture
async def aclient(api_stack: Stack) -> AsyncIterator[AsyncClearway]:
    async with AsyncClearway(api_stack.api_key, api_stack.api_url) as clearway:
        yield clearway


@pytest_asyncio.fixture
async def new_account(api_stack: Stack, make_api_account: MakeAccount) -> AsyncIterator[Clearway]:
    """A new, empty account of its own (no company, no connection, no endpoint)."""
    _, http = await make_api_account()
    with Clearway(key_of(http), api_stack.api_url) as clearway:
        yield clearway
