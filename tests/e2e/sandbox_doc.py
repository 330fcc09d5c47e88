"""docs/sandbox.md as the tests read it: its sections' shell blocks, run as written with
$CLEARWAY_URL, $CLEARWAY_KEY and $CLEARWAY_SIM_URL set to a running stack's, and what a
"A purchase invoice per country" delivery becomes at GET /v1/received-invoices."""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from pathlib import Path
from typing import Any

import httpx

from tests.services.receiver.receiving_support import SAMPLE_DELIVERY, government_id

SANDBOX_DOC = Path(__file__).parents[2] / "docs" / "sandbox.md"
PURCHASES = "A purchase invoice per country"
# The simulator control each country's purchase example calls.
PURCHASE_CONTROLS = {country: path for country, (path, _, _) in SAMPLE_DELIVERY.items()}


def section(heading: str) -> str:
    """The text of the page's `## heading` section, up to the next one."""
    return SANDBOX_DOC.read_text().split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def shell_blocks(heading: str) -> list[str]:
    return re.findall(r"```sh\n(.*?)```", section(heading), re.DOTALL)


def purchase_examples() -> dict[str, str]:
    """The delivering shell blocks of "A purchase invoice per country", by country."""
    by_country = {}
    for block in shell_blocks(PURCHASES):
        for country, path in PURCHASE_CONTROLS.items():
            if f'"$CLEARWAY_SIM_URL{path}"' in block:
                by_country[country] = block
    return by_country


async def run_shell(script: str, *, api_url: str, api_key: str, govsim_url: str) -> str:
    """The block's output; the block must succeed."""
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        script,
        env={
            **os.environ,
            "CLEARWAY_URL": api_url,
            "CLEARWAY_KEY": api_key,
            "CLEARWAY_SIM_URL": govsim_url,
        },
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(shell.communicate(), timeout=60)
    assert shell.returncode == 0, out
    return out.decode()


def delivered_government_id(country: str, output: str) -> str:
    """The governmentId a purchase example's answer names."""
    return government_id(country, json.loads(output))


async def received_with(
    api: httpx.AsyncClient, government_id: str, *, timeout: float
) -> dict[str, Any] | None:
    """The received invoice with that governmentId once GET /v1/received-invoices lists it
    (None after `timeout` seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await api.get("/v1/received-invoices", params={"search": government_id})
        assert answer.status_code == 200, answer.text
        for received in answer.json()["data"]:
            if received["governmentId"] == government_id:
                found: dict[str, Any] = received
                return found
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.5)
