"""Poland: KSeF FA(3) needs the seller's NIP, VAT amounts in złoty, and a correction (KOR) that
names the invoice it corrects.

CW-PL-01/02 (NIP format and check digit) run for every PL number in
clearway.validation.vat_ids.
"""

from __future__ import annotations

import functools
import importlib.resources
from collections.abc import Iterator
from decimal import Decimal

from lxml import etree

from clearway.domain.invoice import InvoiceRequest, InvoiceType
from clearway.formats.hardened import hardened_parser
from clearway.formats.xsd_gate import FA3_MAIN_SCHEMA, FA3_PACKAGE, FA3_SCHEMA_DIR
from clearway.validation.common import given_invoice_number, vat_country
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    for_countries,
)

_RATE_DECIMALS = 6  # TIlosci, FA(3)'s type for KursWaluty
_MAX_TEXT = 256  # TZnakowy
_XSD = "http://www.w3.org/2001/XMLSchema"


@functools.cache
def fa3_currencies() -> frozenset[str]:
    """The currencies FA(3) takes (its TKodWaluty enumeration, read from the schema the gate
    uses): its own ISO 4217 edition, which lacks codes CEN's list has (e.g. SLE)."""
    schema = importlib.resources.files(FA3_PACKAGE).joinpath(*FA3_SCHEMA_DIR, FA3_MAIN_SCHEMA)
    root = etree.fromstring(schema.read_bytes(), hardened_parser())
    values = root.xpath(
        "//xsd:simpleType[@name='TKodWaluty']//xsd:enumeration/@value",
        namespaces={"xsd": _XSD},
    )
    if not isinstance(values, list) or not values:
        raise LookupError("FA(3)'s schema has no TKodWaluty enumeration.")
    return frozenset(str(value) for value in values)


@for_countries("PL")
def currency_fa3_knows(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.currency not in fa3_currencies():
        yield error(
            "CW-PL-08",
            "/currency",
            f"{invoice.currency} is not a currency code KSeF's FA(3) accepts (its ISO 4217 list).",
            "Use a currency FA(3) lists, e.g. PLN or EUR.",
        )


@for_countries("PL")
def seller_nip(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # FA(3) identifies the seller (Podmiot1) by its NIP: KSeF is for Polish taxpayers.
    if vat_country(invoice.supplier, invoice) != "PL":
        yield error(
            "CW-PL-03",
            "/supplier/vatNumber",
            f"KSeF identifies the seller by its Polish NIP, but {invoice.supplier.vat_number} is "
            "not a Polish VAT number.",
            "Send the supplier's NIP: 10 digits, optionally prefixed PL.",
        )


@for_countries("PL")
def vat_in_zloty(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # Polish VAT law (art. 106e ust. 11) wants the VAT of an invoice in another currency stated
    # in PLN too: FA(3) P_14_xW, with the rate (KursWaluty) on each line.
    rate = invoice.exchange_rate
    if invoice.currency != "PLN" and rate is None:
        yield error(
            "CW-PL-04",
            "/exchangeRate",
            f"The invoice is in {invoice.currency}; a Polish invoice must then state its VAT in "
            "PLN as well, which needs the exchange rate.",
            f"Send exchangeRate: the PLN per 1 {invoice.currency} of the rate the VAT is "
            "converted at (the NBP average rate of the day before the tax point), e.g. 4.2537; or "
            "issue the invoice in PLN.",
        )
    elif rate is not None and (rate <= 0 or _decimals(rate) > _RATE_DECIMALS):
        yield error(
            "CW-PL-06",
            "/exchangeRate",
            f"The exchange rate {rate} is not a positive number with at most {_RATE_DECIMALS} "
            "decimals, as FA(3) states it.",
            "Send the PLN per unit of the invoice currency, e.g. 4.2537.",
        )


@for_countries("PL")
def correction_names_the_invoice(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # A credit or debit note is a correcting invoice (KOR), and FA(3) wants the corrected
    # invoice's number and date (DaneFaKorygowanej) on it.
    if invoice.invoice_type is InvoiceType.INVOICE:
        return
    preceding = invoice.preceding_invoice
    if preceding is None:
        yield error(
            "CW-PL-05",
            "/precedingInvoice",
            f"A {invoice.invoice_type.value.replace('_', ' ')} is a correcting invoice (KOR) and "
            "must name the invoice it corrects.",
            "Send precedingInvoice with the number and issueDate of the invoice it corrects.",
        )
    elif preceding.issue_date is None:
        yield error(
            "CW-PL-05",
            "/precedingInvoice/issueDate",
            "A correcting invoice (KOR) must give the issue date of the invoice it corrects.",
            "Send precedingInvoice.issueDate.",
        )


@for_countries("PL")
def invoice_number_fits(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # FA(3) P_2 and NrFaKorygowanej are TZnakowy: at most 256 characters.
    numbers = [given_invoice_number(invoice)]
    if invoice.preceding_invoice is not None:
        numbers.append((invoice.preceding_invoice.number, "/precedingInvoice/number"))
    for number, pointer in filter(None, numbers):
        if len(number) > _MAX_TEXT:
            yield error(
                "CW-PL-07",
                pointer,
                f"{pointer} is {len(number)} characters long; FA(3) holds {_MAX_TEXT}.",
                f"Shorten {pointer} to at most {_MAX_TEXT} characters.",
            )


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


RULES: tuple[RuleSpec, ...] = (
    seller_nip,
    currency_fa3_knows,
    vat_in_zloty,
    correction_names_the_invoice,
    invoice_number_fits,
)
