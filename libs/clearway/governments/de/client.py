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
from urllib.parse import quote

import httpx

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    call_government,
    government_failures,
)
from clearway.connectors.filing import (
    Filed,
    error_messages,
)
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


def _filed(body: Mapping[str, Any]) -> Filed:
    return Filed(upload_id=str(body["id"]), status=str(body.get("status", "")))


class ZreClient:
    def __init__(self, base_url: str, api_key: str, http: httpx.AsyncClient) -> None:
        self._base = base_url.rstrip("/")
        self._api_key = api_key
        self._http = http

    async def _call(
        self, method: str, path: str, *, endpoint: str, calls: list[GovCall] | None, **request: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self._api_key}", **request.pop("headers", {})}
        return await call_government(
            self._http,
            method,
            f"{self._base}{path}",
            endpoint=endpoint,
            failures=FAILURES,
            calls=calls,
            headers=headers,
            **request,
        )

    async def upload(
        self,
        document: bytes,
        *,
        client_reference: str,
        calls: list[GovCall] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Filed:
        response = await self._call(
            "POST",
            "/invoices",
            endpoint=UPLOAD,
            calls=calls,
            content=document,
            headers={
                "Content-Type": "application/xml",
                CLIENT_REFERENCE_HEADER: client_reference,
                **(headers or {}),
            },
        )
        return _filed(response.json())

    async def find(self, client_reference: str, calls: list[GovCall] | None = None) -> Filed | None:
        """The first upload under this reference (the filing), if any."""
        response = await self._call(
            "GET",
            "/invoices",
            endpoint="GET /invoices?clientReference",
            calls=calls,
            params={"clientReference": client_reference},
        )
        found = response.json().get("invoices") or ()
        return _filed(found[0]) if found else None

    async def invoice(
        self, upload_id: str, calls: list[GovCall] | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """The upload's status, parsed and as the platform gave it (the receipt)."""
        response = await self._call(
            "GET",
            f"/invoices/{quote(upload_id, safe='')}",
            endpoint="GET /invoices/{id}",
            calls=calls,
        )
        body: dict[str, Any] = response.json()
        return body, response.content
