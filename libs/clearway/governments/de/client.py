"""The German B2G receipt platforms (ZRE for the federation, OZG-RE for the Länder): upload an
XRechnung whose buyer reference (BT-10) is a Leitweg-ID, follow it to the recipient.

Their web-service paths are not public (GOVERNMENTS.md §6); this client speaks the sandbox
platform's (services/govsim/de/):

    POST /invoices                     the XRechnung, X-Client-Reference; 201 {"id", "status"}
    GET  /invoices?clientReference=    uploads under that reference: to reconcile
    GET  /invoices/{id}                received, then delivered or rejected (German reasons)

Nothing public says the platforms take an idempotency key or a client reference. Clearway sends
one derived from the invoice id, which the simulator stores and lists, so that a lost answer is
matched exactly rather than by invoice number (only unique per seller); against a real platform
this is the assumption to check.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from clearway.connectors import GovCall
from clearway.connectors.calls import government_failures
from clearway.connectors.filing import ChannelClient, Filed, error_messages
from clearway.governments.de import identifiers as de

GOV_ENDPOINT = "ZRE"
UPLOAD = "POST /invoices"
CLIENT_REFERENCE_HEADER = "X-Client-Reference"
DELIVERED = "delivered"
REJECTED = "rejected"

FAILURES = government_failures(GOV_ENDPOINT, "DE", error_messages)


def client_reference_for(invoice_id: str) -> str:
    """The upload's reference at the platform: the same at every upload of one invoice."""
    return f"clearway:{invoice_id}"


def leitweg_id_of(request: Mapping[str, Any]) -> str | None:
    """The invoice's buyer reference (BT-10, as the XRechnung carries it: buyerReference, else
    the buyer's leitwegId) when it is a Leitweg-ID: the invoice is for a public buyer."""
    customer = request.get("customer") or {}
    reference = str(request.get("buyerReference") or customer.get("leitwegId") or "").strip()
    return reference if reference and de.is_leitweg_id_format(reference) else None


class ZreClient(ChannelClient):
    collection = "/invoices"
    reference_param = "clientReference"
    id_field = "id"

    def __init__(self, base_url: str, api_key: str, http: httpx.AsyncClient) -> None:
        super().__init__(base_url, api_key, http, FAILURES)

    async def upload(
        self,
        document: bytes,
        *,
        client_reference: str,
        calls: list[GovCall] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Filed:
        return await self._send_document(
            document,
            endpoint=UPLOAD,
            calls=calls,
            headers={CLIENT_REFERENCE_HEADER: client_reference, **(headers or {})},
        )

    # The upload's status, parsed and as the platform gave it (the receipt).
    invoice = ChannelClient.received
