"""What the receiving tests share: waiting for what a company received."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests.conftest import data_of


async def received_by(client: httpx.AsyncClient, company_id: str, timeout: float = 60) -> list[Any]:
    """The company's received invoices once there are any (none after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[Any] = data_of(
            await client.get("/v1/received-invoices", params={"companyId": company_id})
        )
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)
