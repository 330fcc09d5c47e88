"""What the receiving machine makes of a delivered document before it is recorded: the request
it states (the JSON POST /v1/invoices takes), the totals it states, and the findings about it.

The document is read by a `Reader` given to the machine (the parsers are wired in there). A
received invoice is never refused: a document that cannot be read is still recorded, with a
finding saying so, and its original bytes are what the buyer gets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from clearway.governments.inbox import Delivery
from clearway.validation.findings import Finding, Severity

NOT_READ_RULE = "CW-RECEIVED-NOT-READ"
UNREADABLE_RULE = "CW-RECEIVED-UNREADABLE"


@dataclass(frozen=True)
class StatedTotals:
    """The totals as the document states them (kept as stated, even when they do not add up)."""

    net_amount: Decimal
    vat_amount: Decimal
    gross_amount: Decimal
    currency: str


@dataclass(frozen=True)
class Reading:
    """What a reader made of one document; `request` None: it was not read into a request."""

    request: dict[str, Any] | None
    totals: StatedTotals | None
    findings: tuple[Finding, ...]

    @property
    def supplier_vat(self) -> str | None:
        return _party_vat(self.request, "supplier")

    @property
    def customer_vat(self) -> str | None:
        return _party_vat(self.request, "customer")


Reader = Callable[[Delivery], Reading]


def _party_vat(request: dict[str, Any] | None, party: str) -> str | None:
    found = (request or {}).get(party)
    vat = found.get("vatNumber") if isinstance(found, dict) else None
    return vat if isinstance(vat, str) else None


def not_read_yet(delivery: Delivery) -> Reading:
    """The reader until the parsers are wired in: nothing is made up, the document is kept as
    delivered and a finding says it was not read."""
    return Reading(
        request=None,
        totals=None,
        findings=(
            Finding(
                rule=NOT_READ_RULE,
                severity=Severity.WARNING,
                pointer="/",
                message=f"The {delivery.media_type} document was received and kept as "
                "delivered, but not read into an invoice yet.",
                fix="Read the original document (GET /v1/received-invoices/{id}/document).",
            ),
        ),
    )


def unreadable(error: Exception) -> Reading:
    """What is recorded when the reader itself failed on a document: the buyer must still see
    what was sent to it."""
    return Reading(
        request=None,
        totals=None,
        findings=(
            Finding(
                rule=UNREADABLE_RULE,
                severity=Severity.ERROR,
                pointer="/",
                message=f"The document could not be read: {type(error).__name__}: {error}"[:1000],
                fix="Read the original document (GET /v1/received-invoices/{id}/document) and "
                "ask the supplier for a corrected one if it is malformed.",
            ),
        ),
    )
