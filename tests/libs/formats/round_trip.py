"""Render -> read back, for the round-trip property tests of every government's formats.

A government's read_document must give back the request it was rendered from, up to:
- the fields its format has no place for: the reader's own `not_carried` set, which `without`
  removes from both sides of the comparison (and nothing else);
- what the format's writer normalizes, each step said by a `carried` function of the format's
  test module, mirroring the writer line by line. `en16931_carried` is what build_document (every
  UBL and CII flavour) does.

The bodies get Clearway's own fields too (companyId, externalId sometimes, metadata), which no
format carries, so that dropping them is exercised.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from clearway.domain.invoice import InvoiceRequest, VatCategory
from clearway.formats import render
from clearway.formats.en16931 import _DEFAULT_EXEMPTIONS, peppol_endpoint
from clearway.governments import GOVERNMENTS
from hypothesis import HealthCheck, given, settings

from tests.libs.formats.corpus import cases, invoice
from tests.strategies import valid_invoices

if TYPE_CHECKING:
    from collections.abc import Iterable

    from clearway.formats.reading import ReadInvoice

Wire = dict[str, Any]  # a request in wire names, as model_dump() gives it
# carried(expected, request, invoice number, format name): turns `expected` (the request without
# the fields not carried, in wire names) in place into what the format carries; reads `request`.
Carried = Callable[[Wire, InvoiceRequest, str, str], None]

ROUND_TRIP_SETTINGS = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
# Spelled out here, not taken from the readers: what the tests pin each reader's NOT_CARRIED to.
CLEARWAY_ONLY = {"companyId", "externalId", "metadata"}


def of_both_parties(*names: str) -> set[str]:
    return {f"{role}.{name}" for role in ("supplier", "customer") for name in names}


EN16931_NOT_CARRIED = (
    CLEARWAY_ONLY
    | {"exchangeRate", "lines[].natura"}
    | of_both_parties("fiscalCode", "pec", "sdiCode")
)
CLEARWAY_FIELDS = {"companyId": "company-1", "metadata": {"origin": "round-trip"}}


def without(request: InvoiceRequest, fields: Iterable[str]) -> Wire:
    """The request in wire names, with those fields (dotted wire names, `lines[].x` for every
    line) removed, so that they take their defaults."""
    data = request.model_dump()
    for field in fields:
        _drop(data, field.split("."))
    return data


def _drop(node: Wire, parts: list[str]) -> None:
    head, rest = parts[0], parts[1:]
    if head.endswith("[]"):
        for item in node.get(head.removesuffix("[]")) or []:
            _drop(item, rest)
    elif not rest:
        node.pop(head, None)
    elif isinstance(node.get(head), dict):
        _drop(node[head], rest)


def _values(node: Any, parts: list[str]) -> list[Any]:
    """The values at a dotted path (`lines[].x`: every line's)."""
    head, rest = parts[0], parts[1:]
    child = node.get(head.removesuffix("[]")) if isinstance(node, dict) else None
    items = (child or []) if head.endswith("[]") else [child]
    return [value for item in items for value in (_values(item, rest) if rest else [item])]


def check_round_trips(country: str, carried: Carried) -> None:
    """For generated invoices of the country, every format reads back as `carried` says:
    see Carried."""

    @ROUND_TRIP_SETTINGS
    @given(body=valid_invoices(country))
    def reads_back(body: Wire) -> None:
        assert_reads_back(InvoiceRequest.model_validate(body | CLEARWAY_FIELDS), carried)

    reads_back()


def assert_reads_back(request: InvoiceRequest, carried: Carried) -> None:
    country = request.country
    number = request.invoice_number or request.external_id or "INV-1"
    government = GOVERNMENTS[country]
    for fmt in government.formats():
        read = read_back(request, number, fmt.name)
        assert read.format_name == fmt.name
        expected = without(request, read.not_carried)
        carried(expected, request, number, fmt.name)
        # Compared in wire names, both without what is not carried (a required field among
        # them, such as BR-O-02's buyer VAT number, holds a stand-in the reader says it chose).
        assert without(read.request, read.not_carried) == expected, fmt.name
        # ... and the reader fills none of them (but BR-O-02's stand-in buyer VAT number).
        read_data = read.request.model_dump()
        for field in read.not_carried - {"customer.vatNumber"}:
            assert not any(_values(read_data, field.split("."))), (fmt.name, field)


def corpus_cases(country: str) -> list[str]:
    """The hand-written corpus's cases (tests/libs/formats/corpus.py): what the generator does
    not draw, such as invoices not subject to VAT and buyers outside the EU."""
    return ["base", *cases(country)]


def corpus_invoice(country: str, case: str) -> InvoiceRequest:
    return invoice(country, None if case == "base" else case)


def read_back(request: InvoiceRequest, number: str, format_name: str) -> ReadInvoice:
    document = render(request, invoice_number=number, country=request.country, format=format_name)
    return GOVERNMENTS[request.country].read_document(document.content, document.media_type)


def en16931_carried(data: Wire, request: InvoiceRequest, number: str, *, ubl: bool) -> None:
    """What build_document (clearway.formats.en16931) does to a request, in place."""
    data["invoiceNumber"] = number  # BT-1 is the number it was rendered with
    data.pop("externalId", None)
    payment = data.get("paymentMeans")
    # BT-9: the invoice's dueDate, else the one given with the payment means (due_date()).
    data["dueDate"] = data.get("dueDate") or (payment or {}).get("dueDate")
    if payment is not None:
        payment["dueDate"] = None
        if payment.get("bankAccount"):
            payment["bankAccount"] = "".join(payment["bankAccount"].split())  # spaces dropped
        else:
            payment["bic"] = None  # BR-61: no BG-16, so no BIC, without a payee account
        if not any(payment.values()):
            data["paymentMeans"] = None
    if ubl and data["invoiceType"] == "credit_note" and not (payment or {}).get("bankAccount"):
        # A UBL CreditNote has no cbc:DueDate: ubl.py writes BT-9 in PaymentMeans, which exists
        # only with a payee account.
        data["dueDate"] = None
    data["note"] = data.get("note") or None  # an empty note is no BT-22
    for role, party in (("supplier", request.supplier), ("customer", request.customer)):
        endpoint = peppol_endpoint(party)
        data[role]["peppolId"] = f"{endpoint.scheme}:{endpoint.value}" if endpoint else None
    _en16931_lines(data["lines"])


def _en16931_lines(lines: list[Wire]) -> None:
    """Every line's VAT category as written (S above 0, Z for a 0 rate without one), its discount
    (0 is none), and the exemption reason and code of its breakdown (_vat_breakdown: the first
    given by a line of the same category and rate, else the VATEX default of the category)."""
    reasons: dict[tuple[str, Decimal], tuple[str | None, str | None]] = {}
    for line in lines:
        rate = Decimal(line["vatRate"])
        category = line.get("vatCategory") or (
            VatCategory.STANDARD if rate > 0 else VatCategory.ZERO_RATED
        )
        line["vatCategory"] = category
        key = (category, rate)
        reason, code = reasons.get(key, (None, None))
        reasons[key] = (
            reason or line.get("vatExemptionReason"),
            code or line.get("vatExemptionReasonCode"),
        )
        line["discount"] = line.get("discount") or None
    for (category, _), (reason, code) in list(reasons.items()):
        if reason is None and code is None and category in _DEFAULT_EXEMPTIONS:
            default_code, default_reason = _DEFAULT_EXEMPTIONS[category]
            reasons[category, _] = (default_reason, default_code)
    for line in lines:
        reason, code = reasons[line["vatCategory"], Decimal(line["vatRate"])]
        line["vatExemptionReason"], line["vatExemptionReasonCode"] = reason, code
        if line["vatCategory"] == VatCategory.OUTSIDE_SCOPE:
            line["vatRate"] = Decimal(0)  # BR-O-05: no rate written
