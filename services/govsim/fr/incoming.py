"""The simulated PA's receiving side: the invoices other platforms route to a company it serves
(the buyer, known by its SIREN), kept as incoming flows of the AFNOR XP Z12-013 Flow Service.

A flow (`flowDirection` In, `flowType` SupplierInvoice: a non-self-billed incoming invoice) keeps
the file byte for byte as its supplier's platform delivered it (Factur-X PDF, UBL or CII) and the
invoice's lifecycle as the buyer's platform records it: 202 Reçue and 203 Mise à disposition on
arrival, then the buyer's own statuses (204 Prise en charge, 205 Approuvée, 210 Refusée, …).
`updatedAt` is its `submittedAt`: in the Flow Service it moves only with the flow's
acknowledgement, and an incoming flow is acknowledged Ok as it arrives; the buyer's statuses are
lifecycle (CDAR) flows of their own, not updates of the invoice flow.

The search (`POST /flows/search`) lists flows oldest first by `updatedAt` (strictly after
`updatedAfter`), then by `flowId`, `limit` at a time (25 unless asked, at most 100) from
`offset`. Clearway holds one platform account for every company it serves, so the search is
narrowed to one company by `where.siren`: the simulator's addition, UNCONFIRMED as a field name.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from clearway.countries.checksums import is_valid_luhn
from clearway.domain.invoice import InvoiceRequest
from clearway.governments.fr.document import render_factur_x
from clearway.governments.fr.identifiers import vat_key

from services.govsim.fr.documents import (
    ReadInvoice,
    UnreadableFileError,
    check_invoice,
    read_deposit,
)
from services.govsim.fr.lifecycle import StatusEntry
from services.govsim.undeliverable import UndeliverableError

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
SAMPLE_SELLER_SIREN = "732829320"
INCOMING_TYPE = "SupplierInvoice"
INCOMING_DIRECTION = "In"


@dataclass
class IncomingFlow:
    flow_id: str
    buyer_siren: str
    content: bytes
    read: ReadInvoice
    submitted_at: float
    lifecycle: list[StatusEntry] = field(default_factory=list)

    @property
    def media_type(self) -> str:
        return "application/pdf" if self.read.format == "Factur-X" else "application/xml"

    @property
    def updated_at(self) -> float:
        return self.submitted_at


class IncomingFlows:
    """Every incoming flow of the platform, in arrival order."""

    def __init__(self) -> None:
        self._flows: dict[str, IncomingFlow] = {}

    def deliver(self, content: bytes, *, buyer_siren: str, at: float) -> IncomingFlow:
        """Route `content` to `buyer_siren` now; UndeliverableError when the file is not an
        invoice the platforms would route, or is addressed to another buyer."""
        try:
            read = read_deposit(content)
        except UnreadableFileError as error:
            raise UndeliverableError([str(error)]) from error
        rejection = check_invoice(read.document)
        if rejection is not None:
            raise UndeliverableError([f"{rejection.code}: {rejection.reason}"])
        addressed = read.document.buyer.legal_id
        if addressed != buyer_siren:
            wrong = f"Acheteur de la facture : SIREN {addressed}, pas {buyer_siren}"
            raise UndeliverableError([wrong])
        flow = IncomingFlow(
            flow_id=str(uuid.uuid4()),
            buyer_siren=buyer_siren,
            content=content,
            read=read,
            submitted_at=at,
            lifecycle=[StatusEntry(202, at), StatusEntry(203, at)],
        )
        self._flows[flow.flow_id] = flow
        return flow

    def get(self, flow_id: str) -> IncomingFlow | None:
        return self._flows.get(flow_id)

    def search(
        self, *, siren: str | None, updated_after: float | None, limit: int, offset: int
    ) -> list[IncomingFlow]:
        found = sorted(
            (
                flow
                for flow in self._flows.values()
                if siren in {None, flow.buyer_siren}
                and (updated_after is None or flow.updated_at > updated_after)
            ),
            key=lambda flow: (flow.updated_at, flow.flow_id),
        )
        return found[offset : offset + limit]

    def clear(self) -> None:
        self._flows.clear()


def sample_purchase_invoice(*, buyer_siren: str, seller_siren: str, issued: dt.date) -> bytes:
    """A Factur-X from `seller_siren` (Paris) to `buyer_siren` (Lyon), rendered by Clearway's own
    French renderer and numbered afresh: what a French supplier filing through Clearway sends."""
    request = InvoiceRequest.model_validate(
        {
            "country": "FR",
            "supplier": {
                "vatNumber": f"FR{vat_key(seller_siren)}{seller_siren}",
                "name": "Fournisseur Exemple SAS",
                "siret": siret_of(seller_siren),
                "address": {
                    "street": "12 rue de la Paix",
                    "city": "Paris",
                    "postalCode": "75002",
                    "country": "FR",
                },
            },
            "customer": {
                "vatNumber": f"FR{vat_key(buyer_siren)}{buyer_siren}",
                "name": "Acheteur Exemple SA",
                "siret": siret_of(buyer_siren),
                "address": {
                    "street": "3 place Bellecour",
                    "city": "Lyon",
                    "postalCode": "69002",
                    "country": "FR",
                },
            },
            "lines": [
                {
                    "description": "Prestation de conseil",
                    "quantity": 2,
                    "unitPrice": Decimal("450.00"),
                    "vatRate": 20,
                },
                {
                    "description": "Hébergement",
                    "quantity": 1,
                    "unitPrice": Decimal("80.00"),
                    "vatRate": 20,
                },
            ],
            "currency": "EUR",
            "issueDate": issued.isoformat(),
            "dueDate": (issued + dt.timedelta(days=30)).isoformat(),
            "paymentMeans": {
                "bankAccount": "FR1420041010050500013M02606",
                "paymentTerms": "30 jours",
            },
        }
    )
    return render_factur_x(request, invoice_number=f"FA-{secrets.token_hex(4).upper()}")


def siret_of(siren: str) -> str:
    """The SIREN's first establishment with a valid SIRET (NIC 0001 and a Luhn digit)."""
    for digit in "0123456789":
        siret = f"{siren}0001{digit}"
        if is_valid_luhn(siret):
            return siret
    raise ValueError(siren)  # one of the ten digits always completes a Luhn number
