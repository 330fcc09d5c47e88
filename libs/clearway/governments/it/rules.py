"""Italy: what SDI rejects in a FatturaPA that the JSON can already show.

SDI-00400/00401/00403/00425 are the Sistema di Interscambio's own error codes (Agenzia delle
Entrate, "controlli sul file": 00400 Natura missing on a 0% line, 00401 Natura on a line with VAT,
00403 an issue date after the day SDI receives the file, 00425 an invoice number without a digit;
https://servicematica.com/fattura-elettronica-codici-errore-relativi-alla-verifica-della-coerenza-sul-contenuto-00400-00401-00403-00411-00413-00414-00415-00417-00418-00419-00420-00421-00422-00423-00424-00425).
The CodiceDestinatario is 7 characters for B2B and 6 (the IPA office code) for public
administrations, or 0000000 with the buyer's PEC (GOVERNMENTS.md §3). CW-IT-01/02 (Partita IVA
format and check digit) run for every IT number in clearway.validation.vat_ids.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from zoneinfo import ZoneInfo

from clearway.domain.invoice import InvoiceRequest
from clearway.governments.it.identifiers import (
    NATURA_CODES,
    is_codice_fiscale_format,
    is_valid_codice_fiscale,
)
from clearway.validation.common import (
    given_invoice_number,
    invoice_number_with_a_digit,
    line_pointer,
    parties,
    party_country,
)
from clearway.validation.findings import Finding, RuleContext, RuleSpec, error, for_countries

_SDI_CODE = re.compile(r"[A-Z0-9]{6,7}")
_STRING20 = re.compile(r"[\x00-\x7f]{1,20}")
# SDI dates what it receives in Italian time.
_ITALY = ZoneInfo("Europe/Rome")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")


@for_countries("IT")
def codice_fiscale(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        code = party.fiscal_code
        if code is None:
            continue
        pointer = f"/{role}/fiscalCode"
        if not is_codice_fiscale_format(code):
            yield error(
                "CW-IT-03",
                pointer,
                f"{code} is not a Codice Fiscale: 16 characters (e.g. RSSMRA85T10A562S) for a "
                "person, 11 digits for a company.",
                f"Send the {role}'s Codice Fiscale as printed on the tessera sanitaria or the "
                "company's registration.",
            )
        elif not is_valid_codice_fiscale(code):
            yield context.check_digits_wrong(
                "CW-IT-04",
                pointer,
                f"{code}: the Codice Fiscale's check character does not match.",
                f"Copy the {role}'s Codice Fiscale again; one character is wrong.",
            )


@for_countries("IT")
def recipient_code(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    customer = invoice.customer
    if customer.sdi_code is not None and not _SDI_CODE.fullmatch(customer.sdi_code):
        yield error(
            "CW-IT-06",
            "/customer/sdiCode",
            f"{customer.sdi_code!r} is not a CodiceDestinatario: 7 letters or digits for a "
            "business, 6 (the IPA office code) for a public administration.",
            "Ask the customer for its CodiceDestinatario, or send its PEC in customer.pec.",
        )
    if customer.pec is not None and not _EMAIL.fullmatch(customer.pec):
        yield error(
            "CW-IT-07",
            "/customer/pec",
            f"{customer.pec!r} is not an e-mail address.",
            "Send the customer's PEC address, e.g. fatture@pec.example.it.",
        )
    # A foreign buyer gets CodiceDestinatario XXXXXXX from the converter.
    if party_country(customer, invoice) == "IT" and customer.sdi_code is None and not customer.pec:
        yield error(
            "CW-IT-05",
            "/customer/sdiCode",
            "An Italian customer needs a CodiceDestinatario or a PEC address for SDI to deliver "
            "the invoice.",
            "Send customer.sdiCode (7 characters, or 6 for a public administration) or "
            "customer.pec; for a private person send sdiCode '0000000'.",
        )


@for_countries("IT")
def natura(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    valid = ", ".join(NATURA_CODES)
    for index, line in enumerate(invoice.lines):
        if line.vat_rate == 0 and line.natura is None:
            yield error(
                "SDI-00400",
                line_pointer(index, "natura"),
                f"Line {index + 1} has a 0% VAT rate but no Natura; SDI rejects it (00400).",
                f"Set natura to the reason no VAT is charged, one of {valid} "
                "(e.g. N4 exempt, N3.2 intra-community supply, N6.9 reverse charge).",
            )
        elif line.vat_rate != 0 and line.natura is not None:
            yield error(
                "SDI-00401",
                line_pointer(index, "natura"),
                f"Line {index + 1} charges VAT ({line.vat_rate}%) but has Natura {line.natura}; "
                "SDI rejects it (00401).",
                "Remove natura, or set vatRate to 0 if no VAT is charged.",
            )
        elif line.natura is not None and line.natura not in NATURA_CODES:
            yield error(
                "CW-IT-08",
                line_pointer(index, "natura"),
                f"Line {index + 1}: Natura {line.natura} is not in use; since 2021-01-01 N2, N3 "
                "and N6 need their sub-code (N2.1, N3.2, N6.9, …).",
                f"Use one of {valid}.",
            )


invoice_number_has_a_digit = invoice_number_with_a_digit(
    "IT", "SDI-00425", "SDI rejects it (00425)", "FT-2025-0042"
)


@for_countries("IT")
def issue_date_not_in_the_future(
    invoice: InvoiceRequest, context: RuleContext
) -> Iterator[Finding]:
    today = context.now.astimezone(_ITALY).date()
    if invoice.issue_date > today:
        yield error(
            "SDI-00403",
            "/issueDate",
            f"The issue date {invoice.issue_date} is after today ({today} in Italy); SDI rejects "
            "an invoice dated after the day it receives it (00403).",
            f"Send the invoice on or after its issue date, or set issueDate to {today} or earlier.",
        )


@for_countries("IT")
def document_numbers_fit(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # FatturaPA's Numero and IdDocumento are String20Type: 1 to 20 Basic Latin characters.
    given = given_invoice_number(invoice)
    if given is None:
        yield error(
            "CW-IT-09",
            "/invoiceNumber",
            "A FatturaPA invoice number (Numero) holds at most 20 characters; without "
            "invoiceNumber or externalId Clearway would number it with its invoice id, which is "
            "longer.",
            "Send invoiceNumber, at most 20 characters, e.g. FT-2025-0042.",
        )
    numbers: list[tuple[str | None, str]] = [given] if given is not None else []
    numbers.append((invoice.purchase_order_reference, "/purchaseOrderReference"))
    if invoice.preceding_invoice is not None:
        numbers.append((invoice.preceding_invoice.number, "/precedingInvoice/number"))
    for number, pointer in numbers:
        if number is not None and not _STRING20.fullmatch(number):
            yield error(
                "CW-IT-09",
                pointer,
                f"{number!r} does not fit FatturaPA, which holds a document number in 1 to 20 "
                "Basic Latin characters (letters, digits and ASCII punctuation).",
                f"Shorten {pointer} to at most 20 characters without accents or symbols.",
            )


RULES: tuple[RuleSpec, ...] = (
    codice_fiscale,
    recipient_code,
    natura,
    invoice_number_has_a_digit,
    issue_date_not_in_the_future,
    document_numbers_fit,
)
