"""Reading FA(3) back: what FA(3) does not carry (NOT_CARRIED) and what its writer normalizes
(`carried`), by which the reading contract (test_reading_contract.py) reads every Polish
invoice back as its request; and what only FA(3)'s reader does."""

from __future__ import annotations

from decimal import Decimal, localcontext
from typing import Any

import pytest
from clearway.domain.invoice import (
    MONEY_CONTEXT,
    Address,
    InvoiceRequest,
    InvoiceType,
    Line,
    VatCategory,
    compute_totals,
    round_money,
)
from clearway.formats import XML, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS
from clearway.governments.pl.document import (
    NATIONAL_CURRENCY,
    UNIT_NAMES,
    _amount,
    _buyer_region,
    _eu_vat_prefix,
    _split_vat,
    nip_digits,
)
from clearway.governments.pl.reading import NOT_CARRIED, UNIT_CODES

from tests.libs.formats.round_trip import (
    CLEARWAY_ONLY,
    Wire,
    of_both_parties,
)
from tests.libs.formats.support import read_tampered, tampered

PL = GOVERNMENTS["PL"]
# The category each P_12 reads back as, by the category written and the buyer's region (the
# writer's _rate_code): reverse charge is "oo" at home, "np II" in the EU, "np I" (O) elsewhere.
_READ_CATEGORY = {
    ("AE", "PL"): VatCategory.REVERSE_CHARGE,
    ("AE", "EU"): VatCategory.REVERSE_CHARGE,
    ("AE", "OTHER"): VatCategory.OUTSIDE_SCOPE,
}


def carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What the FA(3) writer (pl/document.py) does, step by step."""
    assert format_name == "FA3"
    data["invoiceNumber"] = number
    region = _buyer_region(request.customer)
    data["supplier"]["vatNumber"] = nip_digits(request.supplier.vat_number)  # NIP, digits only
    data["customer"]["vatNumber"] = _buyer_vat_number(request, region)
    for role, party in (("supplier", request.supplier), ("customer", request.customer)):
        data[role]["phone"] = "".join(party.phone.split()) if party.phone else None
        data[role]["address"] = _address(party.address)
    # A correction (KOR) is a credit note when its total P_15 is negative, a debit note else.
    sign = Decimal(-1) if request.invoice_type is InvoiceType.CREDIT_NOTE else Decimal(1)
    read_sign = Decimal(1)
    if request.invoice_type is not InvoiceType.INVOICE:
        stated_total = Decimal(_amount(compute_totals(request.lines).gross_amount, sign))
        read_sign = Decimal(-1) if stated_total < 0 else Decimal(1)
        data["invoiceType"] = (
            InvoiceType.CREDIT_NOTE if stated_total < 0 else InvoiceType.DEBIT_NOTE
        )
    else:
        data["precedingInvoice"] = None  # DaneFaKorygowanej only in a correction
    # KursWaluty, on every line of an invoice not in PLN.
    if request.currency == NATIONAL_CURRENCY:
        data["exchangeRate"] = None
    payment = request.payment_means
    # TerminPlatnosci lives in Platnosc, written only with payment means; SWIFT only beside NrRB.
    data["dueDate"] = (request.due_date or payment.due_date) if payment is not None else None
    data["paymentMeans"] = (
        {
            "bankAccount": "".join(payment.bank_account.split()) if payment.bank_account else None,
            "bic": payment.bic if payment.bank_account else None,
            "dueDate": None,
        }
        if payment is not None
        else None
    )
    data["note"] = request.note or None
    exempt = [line for line in request.lines if _category(line) is VatCategory.EXEMPT]
    reasons = dict.fromkeys(
        reason
        for line in exempt
        if (reason := line.vat_exemption_reason or line.vat_exemption_reason_code)
    )
    for fields, line in zip(data["lines"], request.lines, strict=True):
        fields.update(_line(line, sign, read_sign, region))
        # P_19A: every exempt line's reasons, in one text.
        is_exempt = _category(line) is VatCategory.EXEMPT
        fields["vatExemptionReason"] = "; ".join(reasons) if is_exempt and reasons else None


def _category(line: Line) -> VatCategory | None:
    return line.effective_vat_category


def _buyer_vat_number(request: InvoiceRequest, region: str) -> str:
    customer = request.customer
    if region == "PL":
        return nip_digits(customer.vat_number)
    if region == "EU":  # KodUE + NrVatUE
        prefix, number = _split_vat(customer.vat_number)
        country = customer.address.country if customer.address is not None else prefix
        return _eu_vat_prefix(prefix or country or "") + "".join(c for c in number if c.isalnum())
    return customer.vat_number  # NrID


def _address(address: Address | None) -> dict[str, Any] | None:
    """Two lines, AdresL1 the street and AdresL2 "post code city" (the first line the locality
    when there is no street), read back split at the locality's first space."""
    if address is None:
        return None
    locality = " ".join(part for part in (address.postal_code, address.city) if part)
    lines = [line for line in (address.street, locality) if line]
    if not lines:
        return None  # no Adres at all
    postal_code, city = None, None
    if len(lines) == 2:
        head, _, rest = locality.partition(" ")
        postal_code, city = (
            (head, rest or None) if any(c.isdigit() for c in head) else (None, locality)
        )
    return {"street": lines[0], "postalCode": postal_code, "city": city, "country": address.country}


def _line(line: Line, sign: Decimal, read_sign: Decimal, region: str) -> dict[str, Any]:
    category = _category(line)
    if category is VatCategory.STANDARD and line.vat_rate == 0:
        category = None  # written as the plain rate "0"
    read_category = _READ_CATEGORY.get((category or "", region), category)
    written_quantity = line.quantity * sign  # P_8B: a credit note's differences are negative
    discount = None
    if line.discount:
        # P_10, the whole line's discount rounded to grosze, read back per unit: the shortest
        # amount of 2 to 8 decimals that gives P_10 back on the quantity, else the quotient.
        line_discount = Decimal(_amount(line.discount * line.quantity, sign))
        with localcontext(MONEY_CONTEXT):
            discount = line_discount / written_quantity
            for places in range(2, 9):
                shortest = discount.quantize(Decimal(1).scaleb(-places))
                if round_money(shortest * written_quantity) == line_discount:
                    discount = shortest
                    break
    unit = UNIT_NAMES.get(line.unit_code, line.unit_code)
    return {
        "quantity": written_quantity * read_sign,
        "discount": discount,
        "unitCode": UNIT_CODES.get(unit, unit),
        "vatCategory": read_category,
        # Named codes (0 KR, zw, np I, ...) carry no rate: 0.
        "vatRate": line.vat_rate if read_category in {VatCategory.STANDARD, None} else Decimal(0),
    }


def test_what_fa3_does_not_carry() -> None:
    assert (
        CLEARWAY_ONLY
        | {
            "attachments",
            "buyerReference",
            "purchaseOrderReference",
            "paymentMeans.paymentTerms",
            "lines[].natura",
            "lines[].vatExemptionReasonCode",
        }
        | of_both_parties(
            "tradeRegister",
            "fiscalCode",
            "pec",
            "sdiCode",
            "peppolId",
            "siret",
            "leitwegId",
            "address.stateOrProvince",
        )
        == NOT_CARRIED
    )


def polish_invoice() -> bytes:
    body = {
        "country": "PL",
        "invoiceNumber": "FV/1",
        "issueDate": "2025-03-01",
        "currency": "PLN",
        "supplier": {"vatNumber": "5261040828", "name": "Dostawca sp. z o.o.", "address": {
            "street": "ul. Prosta 1", "city": "Warszawa", "postalCode": "00-850", "country": "PL"}},
        "customer": {"vatNumber": "7740001454", "name": "Nabywca S.A.", "address": {
            "street": "ul. Długa 2", "city": "Gdańsk", "postalCode": "80-827", "country": "PL"}},
        "lines": [{"description": "Usługa", "quantity": 2, "unitPrice": 100, "vatRate": 23}],
    }  # fmt: skip
    return render(InvoiceRequest.model_validate(body), invoice_number="FV/1", country="PL").content


def test_totals_that_do_not_add_up_are_read_as_stated() -> None:
    read, honest = read_tampered(
        PL, polish_invoice(), ("fa:Fa/fa:P_15", "1000000.00"), ("fa:Fa/fa:P_14_1", "0.01")
    )
    assert read.stated.tax_inclusive == Decimal("1000000.00")
    assert [
        (vat.category, vat.taxable_amount, vat.tax_amount) for vat in read.stated.vat_breakdown
    ] == [("P_13_1", Decimal("200.00"), Decimal("0.01"))]
    assert read.stated.line_amounts == (Decimal("200.00"),)
    assert read.request == honest.request


def test_an_unknown_rate_code_is_refused_naming_it() -> None:
    xml = tampered(polish_invoice(), "fa:Fa/fa:FaWiersz/fa:P_12", "twenty")
    with pytest.raises(UnreadableDocumentError, match="'twenty', not a rate"):
        PL.read_document(xml, XML)
