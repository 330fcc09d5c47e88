"""What the receiving machine makes of a delivered document before it is recorded: the request
it states (the JSON POST /v1/invoices takes), the totals it states, and the findings about it.

The receiver reads with `read_received`: the connection's government reads its document back
(Government.read_document), the request is validated by the same rules as a sent invoice
(EN 16931 and the country's), and the totals the document states are kept as stated, with a
finding where they differ from what its lines add up to. A received invoice is never refused: a
document that cannot be read is still recorded, with a finding saying so, and its original bytes
are what the buyer gets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from clearway.domain.invoice import compute_totals
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import government
from clearway.governments.inbox import Delivery
from clearway.validation import validate_invoice
from clearway.validation.findings import Finding, Severity

NOT_READ_RULE = "CW-RECEIVED-NOT-READ"
UNREADABLE_RULE = "CW-RECEIVED-UNREADABLE"
DELIVERY_RULE = "CW-RECEIVED-DELIVERY"  # the network handed over something broken
TOTALS_RULE = "CW-RECEIVED-TOTALS"  # stated totals that the lines do not add up to
LEFT_OUT_RULE = "CW-RECEIVED-LEFT-OUT"  # what the document says that the JSON cannot hold


@dataclass(frozen=True)
class StatedTotals:
    """The totals as the document states them (kept as stated, even when they do not add up)."""

    net_amount: Decimal | None  # None where the format states none, in total or per rate
    vat_amount: Decimal | None
    gross_amount: Decimal | None
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


class Reader(Protocol):
    """Reads a document delivered to a connection of `country` in `livemode`."""

    def __call__(self, delivery: Delivery, *, country: str, livemode: bool) -> Reading: ...


def _party_vat(request: dict[str, Any] | None, party: str) -> str | None:
    found = (request or {}).get(party)
    vat = found.get("vatNumber") if isinstance(found, dict) else None
    return vat if isinstance(vat, str) else None


def not_read_yet(delivery: Delivery, *, country: str, livemode: bool) -> Reading:
    """A reader that reads nothing (for a receiver that only keeps documents): nothing is made
    up, the document is kept as delivered and a finding says it was not read."""
    del country, livemode
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


def read_received(
    delivery: Delivery, *, country: str, livemode: bool, now: dt.datetime | None = None
) -> Reading:
    """The receiver's reader: the document read back by its government into the request, the
    request's findings (the rules of a sent invoice, never a refusal here), the stated totals
    kept as stated. A document that cannot be read is a Reading with the reason as its finding."""
    if delivery.finding is not None:  # the network's delivery itself was broken (e.g. its ZIP)
        return _only_finding(DELIVERY_RULE, delivery.finding)
    try:
        read = government(country).read_document(delivery.document, delivery.media_type)
    except UnreadableDocumentError as exc:
        return _only_finding(UNREADABLE_RULE, f"The document could not be read: {exc}")
    request = read.request
    report = validate_invoice(request, livemode=livemode, now=now)
    stated = read.stated
    # A format that states its net and VAT only per rate (FatturaPA's DatiRiepilogo, FA(3)'s
    # P_13_x and P_14_x) states their sums: what the buyer would add up from the document.
    breakdown = stated.vat_breakdown
    totals = StatedTotals(
        net_amount=_or_sum(stated.tax_exclusive, [vat.taxable_amount for vat in breakdown]),
        vat_amount=_or_sum(stated.tax, [vat.tax_amount for vat in breakdown]),
        gross_amount=stated.tax_inclusive,
        currency=request.currency,
    )
    findings = (
        *report.findings,
        *_totals_findings(totals, request.lines),
        *(
            Finding(
                rule=LEFT_OUT_RULE,
                severity=Severity.WARNING,
                pointer="/",
                message=f"The {read.format_name} document says more than the JSON holds: {note}",
                fix="Read the original document (GET /v1/received-invoices/{id}/document).",
            )
            for note in read.left_out
        ),
    )
    body = request.model_dump(mode="json", by_alias=True, exclude_none=True)
    return Reading(request=body, totals=totals, findings=findings)


def _or_sum(total: Decimal | None, per_rate: list[Decimal | None]) -> Decimal | None:
    """The stated total; without one, the sum of the amounts stated per rate, when each is."""
    if total is not None or not per_rate or None in per_rate:
        return total
    return sum((amount for amount in per_rate if amount is not None), Decimal(0))


def _totals_findings(totals: StatedTotals, lines: Any) -> tuple[Finding, ...]:
    """A finding for each stated total its lines do not add up to (signs aside: a credit note's
    totals are stated negative in some formats and positive in others)."""
    computed = compute_totals(lines)
    pairs = (
        ("net", totals.net_amount, computed.net_amount),
        ("VAT", totals.vat_amount, computed.vat_amount),
        ("gross", totals.gross_amount, computed.gross_amount),
    )
    return tuple(
        Finding(
            rule=TOTALS_RULE,
            severity=Severity.WARNING,
            pointer="/",
            message=f"The document states a {name} total of {stated}, but its lines add up to "
            f"{expected}; the stated amount is kept as stated.",
            fix="Ask the supplier for a corrected invoice before paying it.",
        )
        for name, stated, expected in pairs
        if stated is not None and abs(stated) != abs(expected)
    )


def _only_finding(rule: str, message: str) -> Reading:
    return Reading(
        request=None,
        totals=None,
        findings=(
            Finding(
                rule=rule,
                severity=Severity.ERROR,
                pointer="/",
                message=message[:1000],
                fix="Read the original document (GET /v1/received-invoices/{id}/document) and "
                "ask the supplier for a corrected one.",
            ),
        ),
    )
