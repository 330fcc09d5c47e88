"""What the whole-stack receiving tests share: waiting for a company's received invoices."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.conftest import data_of


async def received_of(
    client: httpx.AsyncClient, company_id: str, *, count: int = 1, timeout: float = 60
) -> list[Any]:
    """The company's received invoices (GET /v1/received-invoices), once there are `count` of
    them or `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[Any] = data_of(
            await client.get("/v1/received-invoices", params={"companyId": company_id})
        )
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
