"""Helpers the rule modules share: parties, countries, the invoice number, formatting, and the
rules several governments make alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal

from clearway.countries.codes import vat_prefix_country
from clearway.countries.vat_numbers import vat_number_prefix
from clearway.domain.invoice import Address, InvoiceRequest, InvoiceType, Party
from clearway.governments import GOVERNMENTS
from clearway.validation.findings import Finding, RuleContext, RuleSpec, error, for_countries

# Countries whose legal format is EN 16931 syntax (UBL or CII) and so carry the VAT number as
# one string with its country prefix (BT-31/BT-48). FatturaPA (IT) and FA(3) (PL) split the
# prefix from the number, so a bare number is fine there. Read when the rule modules are
# imported: government.py modules import nothing of the rule engine (clearway.governments.base).
EN16931_SYNTAX_COUNTRIES = frozenset(
    code for code, government in GOVERNMENTS.items() if government.en16931_syntax
)


def parties(invoice: InvoiceRequest) -> Iterator[tuple[str, Party]]:
    """Each party with its role, which is also its JSON pointer segment."""
    yield "supplier", invoice.supplier
    yield "customer", invoice.customer


def party_addresses(invoice: InvoiceRequest) -> Iterator[tuple[str, Address]]:
    """Each party's address, with the party's role (a party without one is BR-08/BR-10's)."""
    for role, party in parties(invoice):
        if party.address is not None:
            yield role, party.address


def party_country(party: Party, invoice: InvoiceRequest) -> str:
    """Where the party is: its address, else its VAT prefix, else the invoice's country."""
    if party.address is not None:
        return party.address.country
    prefix = vat_number_prefix(party.vat_number)
    return vat_prefix_country(prefix) if prefix else invoice.country


def vat_country(party: Party, invoice: InvoiceRequest) -> str:
    """The state that issued the party's VAT number: its prefix, else where the party is."""
    prefix = vat_number_prefix(party.vat_number)
    return vat_prefix_country(prefix) if prefix else party_country(party, invoice)


def given_invoice_number(invoice: InvoiceRequest) -> tuple[str, str] | None:
    """BT-1 as the caller gave it, with its pointer. None when Clearway will use the invoice id,
    which is always well formed."""
    if invoice.invoice_number is not None:
        return invoice.invoice_number, "/invoiceNumber"
    if invoice.external_id is not None:
        return invoice.external_id, "/externalId"
    return None


def fmt_rate(rate: Decimal) -> str:
    return f"{rate.normalize():f}%"


def fmt_rates(rates: frozenset[Decimal] | set[Decimal]) -> str:
    return ", ".join(fmt_rate(r) for r in sorted(rates, reverse=True))


def line_pointer(index: int, field: str) -> str:
    return f"/lines/{index}/{field}"


# --- rules several governments make, each in its own words ------------------------------------


def no_debit_notes(
    country: str,
    rule: str,
    message: str,
    fix: str = "Send the additional charge as an invoice (invoiceType 'invoice') that names the "
    "original in note or precedingInvoice.",
    *,
    report: Callable[[str, str, str, str], Finding] = error,
) -> RuleSpec:
    """A finding (`report`: error or warning) on every debit note (383), which the country's
    format does not take."""
    finding = report(rule, "/invoiceType", message, fix)

    @for_countries(country)
    def document_type(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
        if invoice.invoice_type is InvoiceType.DEBIT_NOTE:
            yield finding

    return document_type


def only_in_currency(country: str, currency: str, rule: str, authority: str) -> RuleSpec:
    """An invoice must be in `currency`: in any other, `authority` needs the VAT total in it
    too, and the API takes no exchange rate to compute it."""

    @for_countries(country)
    def vat_currency(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
        if invoice.currency != currency:
            yield error(
                rule,
                "/currency",
                f"The invoice is in {invoice.currency}; {authority} then needs the VAT total in "
                f"{currency}, which Clearway cannot compute without the exchange rate.",
                f"Issue the invoice in {currency}.",
            )

    return vat_currency


def invoice_number_with_a_digit(country: str, rule: str, why: str, example: str) -> RuleSpec:
    """The invoice number (BT-1) as given must hold a digit; `why`: who refuses it otherwise."""

    @for_countries(country)
    def invoice_number_has_a_digit(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
        given = given_invoice_number(invoice)
        if given is not None and not any(c.isdigit() for c in given[0]):
            number, pointer = given
            yield error(
                rule,
                pointer,
                f"The invoice number {number!r} has no digit; {why}.",
                f"Use an invoice number with a digit, e.g. its sequence number ({example}).",
            )

    return invoice_number_has_a_digit
