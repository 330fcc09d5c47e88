"""Poland: KSeF FA(3) needs the seller's NIP, and VAT amounts in złoty.

CW-PL-01/02 (NIP format and check digit) run for every PL number in
clearway.validation.vat_ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from clearway.domain.invoice import InvoiceRequest
from clearway.validation.common import vat_country
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    for_countries,
    warning,
)


@for_countries("PL")
def seller_nip(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # FA(3) identifies the seller (Podmiot1) by its NIP: KSeF is for Polish taxpayers.
    if vat_country(invoice.supplier, invoice) != "PL":
        yield error(
            "CW-PL-03",
            "/supplier/vatNumber",
            f"KSeF identifies the seller by its Polish NIP, but {invoice.supplier.vatNumber} is "
            "not a Polish VAT number.",
            "Send the supplier's NIP: 10 digits, optionally prefixed PL.",
        )


@for_countries("PL")
def vat_in_zloty(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # Polish VAT law wants the VAT of an invoice in another currency stated in PLN too (FA(3)
    # P_14_xW), which needs an exchange rate the API does not take yet. The FA(3) schema does not
    # enforce it, so KSeF accepts the invoice: a warning, not an error.
    if invoice.currency != "PLN":
        yield warning(
            "CW-PL-04",
            "/currency",
            f"The invoice is in {invoice.currency}; a Polish invoice must then state its VAT in "
            "PLN as well, which Clearway cannot compute without the exchange rate.",
            "Issue the invoice in PLN, or add the VAT in PLN once the API takes an exchange rate.",
        )


RULES: tuple[RuleSpec, ...] = (seller_nip, vat_in_zloty)
