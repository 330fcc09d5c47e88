"""Reading FatturaPA back: what FatturaPA does not carry (NOT_CARRIED) and what its writer
normalizes (`carried`), by which the reading contract (test_reading_contract.py) reads every
Italian invoice back as its request; and what only FatturaPA's reader does."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from clearway.domain.invoice import Address, InvoiceRequest, InvoiceType, VatCategory
from clearway.formats import XML, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS
from clearway.governments.it.document import (
    _ITALIAN_POSTAL_CODE,
    _PROVINCE,
    CODE_FOREIGN_BUYER,
    FOREIGN_POSTAL_CODE,
    UNIT_NAMES,
    _attachment_name,
    _country_of,
    _fiscal_id,
    _natura,
    latin_1,
    sdi_recipient,
)
from clearway.governments.it.reading import NATURA_CATEGORIES, NOT_CARRIED, UNIT_CODES

from tests.libs.formats.round_trip import (
    CLEARWAY_ONLY,
    Wire,
    of_both_parties,
)
from tests.libs.formats.support import read_tampered, tampered

IT = GOVERNMENTS["IT"]


def carried(data: Wire, request: InvoiceRequest, number: str, format_name: str) -> None:
    """What the FatturaPA writer (it/document.py) does: every text in Latin-1 (latin_1), VAT
    numbers split into IdPaese and IdCodice, the recipient's code, and the rest below."""
    assert format_name == "FATTURAPA"
    data["invoiceNumber"] = latin_1(number)
    for role, party in (("supplier", request.supplier), ("customer", request.customer)):
        fields = data[role]
        default_country = "IT" if role == "supplier" else _country_of(party)
        fields["vatNumber"] = "".join(_fiscal_id(party.vat_number, default_country))
        fields["fiscalCode"] = party.fiscal_code.upper() if party.fiscal_code else None
        fields["name"] = latin_1(party.name)
        fields["address"] = _sede(party.address)
    recipient = sdi_recipient(request.customer)
    data["customer"]["sdiCode"] = None if recipient.code == CODE_FOREIGN_BUYER else recipient.code
    data["customer"]["pec"] = latin_1(recipient.pec) if recipient.pec else None
    data["note"] = latin_1(request.note) if request.note else None  # Causale, 200 at a time
    order = request.purchase_order_reference
    data["purchaseOrderReference"] = latin_1(order) if order else None
    preceding = request.preceding_invoice
    data["precedingInvoice"] = (
        {"number": latin_1(preceding.number), "issueDate": preceding.issue_date}
        if preceding is not None and request.invoice_type is not InvoiceType.INVOICE
        else None  # DatiFattureCollegate only for a credit or debit note
    )
    payment = request.payment_means
    # DataScadenzaPagamento lives in DatiPagamento, written only with payment means.
    data["dueDate"] = (request.due_date or payment.due_date) if payment is not None else None
    data["paymentMeans"] = (
        {
            "bankAccount": "".join(payment.bank_account.split()) if payment.bank_account else None,
            "bic": latin_1(payment.bic) if payment.bic else None,
            "dueDate": None,
        }
        if payment is not None
        else None
    )
    for attachment in data["attachments"]:
        attachment["filename"] = _attachment_name(attachment["filename"])  # 60 Latin-1 chars
    _lines(data["lines"], request)


def _sede(address: Address | None) -> dict[str, Any] | None:
    if address is None:
        return None
    foreign = address.country != "IT"
    postal_code = address.postal_code
    if foreign and not _ITALIAN_POSTAL_CODE.match(postal_code or ""):
        postal_code = FOREIGN_POSTAL_CODE
    if foreign and postal_code == FOREIGN_POSTAL_CODE:
        postal_code = None  # 00000 is the SDI's stand-in for a foreign post code
    province = (address.state_or_province or "").upper()
    return {
        "street": latin_1(address.street) if address.street else None,
        "city": latin_1(address.city) if address.city else None,
        "postalCode": latin_1(postal_code) if postal_code else None,
        # Provincia: an Italian address's two-letter code only.
        "stateOrProvince": province if not foreign and _PROVINCE.match(province) else None,
        "country": address.country,
    }


def _lines(lines: list[Wire], request: InvoiceRequest) -> None:
    references: dict[tuple[Decimal, str], set[str | None]] = {}
    for line in request.lines:
        natura = _natura(line)
        if natura:
            reference = line.vat_exemption_reason or line.vat_exemption_reason_code
            references.setdefault((line.vat_rate, natura), set()).add(reference)
    for fields, line in zip(lines, request.lines, strict=True):
        # Quantita cannot be negative: a negative line's sign moves to the price, and its
        # discount becomes a surcharge (MG), read as a negative discount.
        sign = Decimal(-1) if line.quantity < 0 else Decimal(1)
        fields["quantity"] = line.quantity * sign
        fields["unitPrice"] = line.unit_price * sign
        fields["discount"] = line.discount * sign if line.discount else None
        fields["description"] = latin_1(line.description)
        fields["itemCode"] = latin_1(line.item_code) if line.item_code else None
        unit = UNIT_NAMES.get(line.unit_code, line.unit_code)  # Italian abbreviations
        fields["unitCode"] = UNIT_CODES.get(unit, unit)
        natura = _natura(line)
        fields["natura"] = natura
        # No VAT category in FatturaPA: S above 0, else the Natura's.
        fields["vatCategory"] = (
            VatCategory.STANDARD if line.vat_rate > 0 else NATURA_CATEGORIES.get(natura or "")
        )
        # RiferimentoNormativo: the reason (else the code) of the summary, if it has one value.
        group = references.get((line.vat_rate, natura or ""), set())
        reference = next(iter(group)) if len(group) == 1 else None
        fields["vatExemptionReason"] = latin_1(reference) if reference else None


def test_what_fatturapa_does_not_carry() -> None:
    assert (
        CLEARWAY_ONLY
        | {
            "exchangeRate",
            "buyerReference",
            "paymentMeans.paymentTerms",
            "lines[].vatExemptionReasonCode",
            "supplier.sdiCode",
            "supplier.pec",
        }
        | of_both_parties("email", "phone", "peppolId", "siret", "leitwegId", "tradeRegister")
        == NOT_CARRIED
    )


def italian_invoice() -> bytes:
    body = {
        "country": "IT",
        "invoiceNumber": "FT-1",
        "issueDate": "2025-03-01",
        "supplier": {"vatNumber": "IT01234567897", "name": "Fornitore S.r.l.", "address": {
            "street": "Via Roma 1", "city": "Milano", "postalCode": "20121", "country": "IT"}},
        "customer": {"vatNumber": "IT09876543210", "name": "Cliente S.p.A.", "sdiCode": "M5UXCR1",
                     "address": {"street": "Via Po 2", "city": "Torino", "postalCode": "10121",
                                 "country": "IT"}},
        "lines": [{"description": "Consulenza", "quantity": 2, "unitPrice": 100, "vatRate": 22}],
        "paymentMeans": {"bankAccount": "IT60X0542811101000000123456"},
    }  # fmt: skip
    request = InvoiceRequest.model_validate(body)
    return render(request, invoice_number="FT-1", country="IT").content


def test_totals_that_do_not_add_up_are_read_as_stated() -> None:
    general = "FatturaElettronicaBody/DatiGenerali/DatiGeneraliDocumento"
    read, honest = read_tampered(
        IT,
        italian_invoice(),
        (f"{general}/ImportoTotaleDocumento", "1.00"),
        ("FatturaElettronicaBody/DatiBeniServizi/DatiRiepilogo/Imposta", "0.01"),
    )
    assert read.stated.tax_inclusive == Decimal("1.00")
    assert read.stated.vat_breakdown[0].tax_amount == Decimal("0.01")
    assert read.stated.payable == Decimal("244.00")
    assert read.stated.line_amounts == (Decimal("200.00"),)
    assert read.request == honest.request


def test_a_batch_of_invoices_is_refused() -> None:
    from lxml import etree  # noqa: PLC0415

    root = etree.fromstring(italian_invoice())
    body = root.find("FatturaElettronicaBody")
    assert body is not None
    root.append(etree.fromstring(etree.tostring(body)))
    with pytest.raises(UnreadableDocumentError, match="holds 2 invoices"):
        IT.read_document(etree.tostring(root), XML)


@pytest.mark.parametrize(("quantity", "read_as"), [("0.00", Decimal(0)), (None, Decimal(1))])
def test_quantita_is_read_as_stated_and_is_one_when_absent(
    quantity: str | None, read_as: Decimal
) -> None:
    line = "FatturaElettronicaBody/DatiBeniServizi/DettaglioLinee"
    read = IT.read_document(tampered(italian_invoice(), f"{line}/Quantita", quantity), XML)
    assert read.request.lines[0].quantity == read_as
    assert read.stated.line_amounts == (Decimal("200.00"),)  # PrezzoTotale, as stated
