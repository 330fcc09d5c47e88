"""A French Plateforme Agréée (PA, ex-PDP): deposit an invoice, follow its lifecycle statuses
(GOVERNMENTS.md §5: CDAR 200 Déposée … 213 Rejetée, 501 Irrecevable).

No public standard for a PA's API was verified; this client speaks the sandbox platform's
(services/govsim/fr/), a shape common to the platforms:

    POST /invoices                          the file; 201 with 200 Déposée, 422 with 501 Irrecevable
    GET  /invoices/{id}                     the current status
    GET  /invoices/{id}/statuses            the history (what the receipt is)
    GET  /invoices?invoiceNumber=&sellerSiren=   deposits of that invoice: to reconcile

and reads what other platforms route to a company it serves as the AFNOR XP Z12-013 Flow
Service reads incoming flows (governments/fr/receiving.py):

    POST /flows/search                      incoming flows of a SIREN, oldest updatedAt first
    GET  /flows/{flowId}?docType=Original   the file as delivered
    GET  /flows/{flowId}                    its metadata and the invoice's lifecycle (JSON)
    POST /flows/{flowId}/lifecycle          the buyer's status on it (204, 205, 210 + reason)

Clearway deposits with its own platform account (FR_PA_API_KEY); the company is identified by
its SIREN inside the invoice. Failures are sorted as for every government.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from clearway.connectors import GovCall
from clearway.connectors.calls import GovernmentApi, government_failures, refusal_reader

GOV_ENDPOINT = "Plateforme agréée"
DEPOSITED = 200
ISSUED = frozenset({201, 202, 203, 204, 205, 206, 207, 208, 209, 211, 212})
REJECTED = frozenset({213, 501})


def _refusal_text(body: Any) -> str:
    status = body.get("status") if isinstance(body, dict) else None
    if isinstance(status, dict) and status.get("reason"):
        code = status.get("reasonCode") or status.get("code")
        return f"{code}: {status['reason']}"
    return str(body.get("message") or body) if isinstance(body, dict) else str(body)


FAILURES = government_failures("the PA", "FR", refusal_reader(_refusal_text))


class Deposit(BaseModel):
    model_config = ConfigDict(frozen=True)

    invoice_id: str
    code: int
    label: str
    reason: str | None
    reason_code: str | None

    def message(self) -> str:
        """The status in the platform's words: "213 Rejetée — REJ_UNI: Doublon …"."""
        text = f"{self.code} {self.label}"
        if self.reason:
            return f"{text} — {self.reason_code or 'motif'}: {self.reason}"
        return text


def _deposit(body: dict[str, Any]) -> Deposit:
    status = body.get("status") or {}
    return Deposit(
        invoice_id=str(body["invoiceId"]),
        code=int(status.get("code", 0)),
        label=str(status.get("label", "")),
        reason=status.get("reason"),
        reason_code=status.get("reasonCode"),
    )


INCOMING_FILTERS = {"flowDirection": ["In"], "flowType": ["SupplierInvoice"]}


class ListedFlow(BaseModel):
    """One incoming flow as the search lists it."""

    model_config = ConfigDict(frozen=True)

    flow_id: str
    updated_at: dt.datetime  # when the platform last changed the flow: the search's order
    syntax: str  # Factur-X, UBL or CII


def _listed_flow(body: dict[str, Any]) -> ListedFlow:
    return ListedFlow(
        flow_id=str(body["flowId"]),
        updated_at=dt.datetime.fromisoformat(str(body["updatedAt"])),
        syntax=str(body.get("flowSyntax") or ""),
    )


class FlowDocument(BaseModel):
    model_config = ConfigDict(frozen=True)

    content: bytes
    media_type: str


# What a buyer answers an invoice it received (the reform's lifecycle codes): 210 needs a reason.
BUYER_RESPONSES = {204: "Prise en charge", 205: "Approuvée", 210: "Refusée"}
REFUSED = 210


class BuyerStatus(BaseModel):
    """A buyer's status on a received invoice, as the platform takes it."""

    model_config = ConfigDict(frozen=True)

    code: int
    reason: str | None = None
    reason_code: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code}
        if self.reason is not None:
            body["reason"] = self.reason
        if self.reason_code is not None:
            body["reasonCode"] = self.reason_code
        return body


def buyer_status(
    code: int, reason: str | None = None, reason_code: str | None = None
) -> BuyerStatus:
    """The buyer's status `code` (204 Prise en charge, 205 Approuvée, 210 Refusée); ValueError
    for another code, or a refusal without its reason."""
    if code not in BUYER_RESPONSES:
        raise ValueError(f"{code} is not a buyer's status ({sorted(BUYER_RESPONSES)})")
    reason = (reason or "").strip() or None
    if code == REFUSED and reason is None:
        raise ValueError("210 Refusée needs a reason")
    return BuyerStatus(code=code, reason=reason, reason_code=reason_code)


class PaClient(GovernmentApi):
    def __init__(self, base_url: str, api_key: str, http: httpx.AsyncClient) -> None:
        super().__init__(base_url, http, FAILURES, api_key=api_key)

    async def deposit(
        self,
        content: bytes,
        content_type: str,
        *,
        calls: list[GovCall] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Deposit:
        response = await self._call(
            "POST",
            "/invoices",
            endpoint="POST /invoices",
            calls=calls,
            content=content,
            headers={"Content-Type": content_type, **(headers or {})},
        )
        return _deposit(response.json())

    async def invoice(self, invoice_id: str, calls: list[GovCall] | None = None) -> Deposit:
        response = await self._call(
            "GET", f"/invoices/{invoice_id}", endpoint="GET /invoices/{id}", calls=calls
        )
        return _deposit(response.json())

    async def statuses(self, invoice_id: str, calls: list[GovCall] | None = None) -> bytes:
        response = await self._call(
            "GET",
            f"/invoices/{invoice_id}/statuses",
            endpoint="GET /invoices/{id}/statuses",
            calls=calls,
        )
        return response.content

    async def search(
        self, invoice_number: str, seller_siren: str, calls: list[GovCall] | None = None
    ) -> list[Deposit]:
        response = await self._call(
            "GET",
            "/invoices",
            endpoint="GET /invoices?invoiceNumber&sellerSiren",
            calls=calls,
            params={"invoiceNumber": invoice_number, "sellerSiren": seller_siren},
        )
        return [_deposit(found) for found in response.json().get("invoices") or ()]

    async def search_incoming(
        self,
        *,
        siren: str,
        updated_after: dt.datetime | None,
        limit: int,
        offset: int = 0,
        calls: list[GovCall] | None = None,
    ) -> list[ListedFlow]:
        """The incoming invoice flows of `siren` updated strictly after `updated_after` (all when
        None), oldest first, `limit` from `offset`."""
        where: dict[str, Any] = {**INCOMING_FILTERS, "siren": siren}
        if updated_after is not None:
            where["updatedAfter"] = updated_after.isoformat()
        response = await self._call(
            "POST",
            "/flows/search",
            endpoint="POST /flows/search",
            calls=calls,
            json={"where": where, "limit": limit, "offset": offset},
        )
        return [_listed_flow(found) for found in response.json().get("results") or ()]

    async def flow_original(self, flow_id: str, calls: list[GovCall] | None = None) -> FlowDocument:
        """The flow's file as it was delivered, with the media type the platform gives it."""
        response = await self._flow_part(flow_id, "Original", calls)
        media_type = response.headers.get("content-type", "application/octet-stream")
        return FlowDocument(content=response.content, media_type=media_type.split(";")[0])

    async def flow_metadata(self, flow_id: str, calls: list[GovCall] | None = None) -> bytes:
        """The flow's metadata with the invoice's lifecycle, as the platform's JSON bytes."""
        return (await self._flow_part(flow_id, "Metadata", calls)).content

    async def _flow_part(
        self, flow_id: str, doc_type: str, calls: list[GovCall] | None
    ) -> httpx.Response:
        """GET /flows/{id} of one docType (Original, Metadata)."""
        return await self._call(
            "GET",
            f"/flows/{flow_id}",
            endpoint=f"GET /flows/{{id}}?docType={doc_type}",
            calls=calls,
            params={"docType": doc_type},
        )

    async def send_buyer_status(
        self, flow_id: str, status: BuyerStatus, calls: list[GovCall] | None = None
    ) -> Deposit:
        """The buyer's status on a received flow, through the platform; the status recorded."""
        response = await self._call(
            "POST",
            f"/flows/{flow_id}/lifecycle",
            endpoint="POST /flows/{id}/lifecycle",
            calls=calls,
            json=status.body(),
        )
        body = response.json()
        return _deposit({"invoiceId": body["flowId"], "status": body.get("status")})
