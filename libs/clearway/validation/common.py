"""Helpers the rule modules share: parties, countries, the invoice number, formatting."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from clearway.countries.codes import vat_prefix_country
from clearway.countries.vat_numbers import vat_number_prefix
from clearway.domain.invoice import InvoiceRequest, Party
from clearway.governments import GOVERNMENTS

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
