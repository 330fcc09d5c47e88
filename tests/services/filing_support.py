"""What every country's submitter tests assert alike: a company connected for filing, the
timeline of an invoice filed and accepted, and a sandbox scenario recovered with one filing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import MakeAccount
from tests.services.connections_support import new_company, start_connection
from tests.services.submitter_ro.ro_support import event, events_of, wait_final

FILED_TIMELINE = ["invoice.created", "invoice.validated", "invoice.submitted", "invoice.accepted"]


async def connected_client(make_account: MakeAccount, country: str) -> httpx.AsyncClient:
    """A new account's client whose company's connection (an identifier: no token) is active."""
    _, client = await make_account()
    company_id = await new_company(client, country)
    connection = await start_connection(client, company_id, country)
    assert connection["status"] == "active", connection
    return client


async def recovered(
    client: httpx.AsyncClient, invoice_id: str, scenario: str, endpoint: str, sends: list[Any]
) -> dict[str, Any]:
    """The invoice ends accepted, its uploads to `endpoint` answered `sends` (HTTP statuses), a
    lost answer (`timeout`) was reconciled; invoice.submitted's metadata."""
    invoice = await wait_final(client, invoice_id)
    assert invoice["status"] == "accepted", invoice
    submitted: dict[str, Any] = event(await events_of(client, invoice_id), "invoice.submitted")[
        "metadata"
    ]
    assert [a["httpStatus"] for a in submitted["attempts"] if a["endpoint"] == endpoint] == sends
    if scenario == "timeout":
        assert submitted["reconciled"] is True
    return submitted
