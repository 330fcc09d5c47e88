"""Clearway's own checks for every country (CW-…): what EN 16931 does not say but an authority or
the conversion would stumble on."""

from __future__ import annotations

from collections.abc import Iterator

from clearway.countries.checksums import is_valid_iban
from clearway.countries.codes import EU_VAT_PREFIXES
from clearway.countries.vat_numbers import vat_number_prefix
from clearway.countries.vat_rates import vat_rates_on
from clearway.domain.invoice import InvoiceRequest, InvoiceType, VatCategory, compute_totals
from clearway.validation.common import fmt_rate, fmt_rates, line_pointer, vat_country
from clearway.validation.en16931 import CATEGORY_RULES
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    every_country,
    warning,
)

# The VATEX codes that name one category (Peppol BIS PEPPOL-EN16931-P0104…P0111).
CATEGORY_OF_VATEX_CODE: dict[str, VatCategory] = {
    "VATEX-EU-G": VatCategory.EXPORT,
    "VATEX-EU-O": VatCategory.OUTSIDE_SCOPE,
    "VATEX-EU-IC": VatCategory.INTRA_COMMUNITY,
    "VATEX-EU-AE": VatCategory.REVERSE_CHARGE,
    "VATEX-EU-D": VatCategory.EXEMPT,
    "VATEX-EU-F": VatCategory.EXEMPT,
    "VATEX-EU-I": VatCategory.EXEMPT,
    "VATEX-EU-J": VatCategory.EXEMPT,
}
_PEPPOL_RULE_OF_VATEX_CODE = {
    "VATEX-EU-G": "PEPPOL-EN16931-P0104",
    "VATEX-EU-O": "PEPPOL-EN16931-P0105",
    "VATEX-EU-IC": "PEPPOL-EN16931-P0106",
    "VATEX-EU-AE": "PEPPOL-EN16931-P0107",
    "VATEX-EU-D": "PEPPOL-EN16931-P0108",
    "VATEX-EU-F": "PEPPOL-EN16931-P0109",
    "VATEX-EU-I": "PEPPOL-EN16931-P0110",
    "VATEX-EU-J": "PEPPOL-EN16931-P0111",
}
_IBAN_SHAPE_LENGTH = 4  # two letters and two check digits: what tells an IBAN from other accounts


@every_country
def due_date_after_issue(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    due_dates = [("/dueDate", invoice.due_date)]
    if invoice.payment_means is not None:
        due_dates.append(("/paymentMeans/dueDate", invoice.payment_means.due_date))
    for pointer, due_date in due_dates:
        if due_date is not None and due_date < invoice.issue_date:
            yield error(
                "CW-01",
                pointer,
                f"The due date {due_date} is before the issue date {invoice.issue_date}.",
                "Set the due date on or after issueDate.",
            )


@every_country
def one_due_date(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    means = invoice.payment_means
    if (
        means is not None
        and means.due_date is not None
        and invoice.due_date is not None
        and means.due_date != invoice.due_date
    ):
        yield warning(
            "CW-06",
            "/paymentMeans/dueDate",
            f"paymentMeans.dueDate ({means.due_date}) differs from dueDate ({invoice.due_date}); "
            "the invoice carries one due date and dueDate is the one used.",
            "Give the due date once, in dueDate.",
        )


@every_country
def amounts_have_the_documents_sign(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.invoice_type is InvoiceType.CREDIT_NOTE:
        # A credit note states the credited amounts as positive numbers.
        if compute_totals(invoice.lines).gross_amount < 0:
            yield error(
                "CW-02",
                "/lines",
                "The credit note's total is negative: it would charge the customer.",
                "State the credited amounts as positive numbers, or send an invoice.",
            )
    elif all(line.quantity * line.unit_price <= 0 for line in invoice.lines):
        yield error(
            "CW-02",
            "/lines",
            f"The {invoice.invoice_type.value.replace('_', ' ')} has no line with a positive "
            "amount.",
            "Give at least one line a positive quantity and unit price; refunds are sent as a "
            "credit_note.",
        )


@every_country
def discount_not_negative(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        if line.discount is not None and line.discount < 0:
            yield error(
                "CW-03",
                line_pointer(index, "discount"),
                f"Line {index + 1}: the discount ({line.discount}) is negative.",
                "Give the discount per unit as a positive amount, or raise unitPrice instead.",
            )


@every_country
def iban_check_digits(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    means = invoice.payment_means
    account = "".join((means.bank_account or "").split()).upper() if means else ""
    looks_like_iban = (
        len(account) > _IBAN_SHAPE_LENGTH and account[:2].isalpha() and account[2:4].isdigit()
    )
    if looks_like_iban and not is_valid_iban(account):
        yield context.check_digits_wrong(
            "CW-04",
            "/paymentMeans/bankAccount",
            f"{account} is not a valid IBAN: its check digits do not match.",
            "Copy the IBAN from the bank statement.",
        )


@every_country
def vat_rate_in_force(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    valid = vat_rates_on(invoice.country, invoice.issue_date)
    if valid is None:
        return
    positive = {rate for rate in valid if rate > 0}
    for index, line in enumerate(invoice.lines):
        # Other categories carry 0 (BR-x-05); a 0 rate on an S line is BR-S-05's finding.
        if line.effective_vat_category is not VatCategory.STANDARD or line.vat_rate <= 0:
            continue
        if line.vat_rate not in positive:
            rates = fmt_rates(positive)
            yield error(
                "CW-VAT-01",
                line_pointer(index, "vatRate"),
                f"Line {index + 1}: {fmt_rate(line.vat_rate)} was not a {invoice.country} VAT "
                f"rate on {invoice.issue_date}; the rates then were {rates}.",
                f"Use one of {rates} (or correct issueDate).",
            )


@every_country
def spanish_only_categories(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    spanish = (VatCategory.CANARY_ISLANDS, VatCategory.CEUTA_MELILLA)
    for index, line in enumerate(invoice.lines):
        if line.vat_category in spanish:
            yield error(
                # The French CTC names the allowed categories in its own rule.
                "BR-FR-15" if invoice.country == "FR" else "CW-VAT-03",
                line_pointer(index, "vatCategory"),
                f"Line {index + 1}: VAT category {line.vat_category} (Spanish IGIC/IPSI) does not "
                f"exist in {invoice.country}.",
                "Use S, Z, E, AE, K, G or O.",
            )


@every_country
def exemption_code_matches_category(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        code = (line.vat_exemption_reason_code or "").upper()
        expected = CATEGORY_OF_VATEX_CODE.get(code)
        category = line.effective_vat_category
        if expected is None or category is None or category is expected:
            continue
        yield error(
            # Peppol BIS states these as rules; elsewhere they are Clearway's.
            _PEPPOL_RULE_OF_VATEX_CODE[code] if invoice.country == "BE" else "CW-VAT-04",
            line_pointer(index, "vatExemptionReasonCode"),
            f"Line {index + 1}: the exemption code {code} means "
            f"{CATEGORY_RULES[expected].name.lower()} (category {expected}), but the line is in "
            f"category {category}.",
            f"Set vatCategory to {expected}, or use the exemption code of category {category}.",
        )


@every_country
def intra_community_between_member_states(
    invoice: InvoiceRequest, _: RuleContext
) -> Iterator[Finding]:
    if not any(
        line.effective_vat_category is VatCategory.INTRA_COMMUNITY for line in invoice.lines
    ):
        return
    seller, buyer = vat_country(invoice.supplier, invoice), vat_country(invoice.customer, invoice)
    buyer_prefix = vat_number_prefix(invoice.customer.vat_number) or buyer
    if buyer_prefix not in EU_VAT_PREFIXES:
        yield error(
            "CW-VAT-05",
            "/customer/vatNumber",
            f"The invoice has intra-community supplies (K) but the customer's VAT number "
            f"{invoice.customer.vat_number} is not from an EU member state.",
            "Use category G (export) for buyers outside the EU, or give the buyer's EU VAT number.",
        )
    elif seller == buyer:
        yield error(
            "CW-VAT-05",
            "/customer/vatNumber",
            f"The invoice has intra-community supplies (K) but supplier and customer are both "
            f"VAT-registered in {seller}; K is a supply to another member state.",
            "Use S (or the domestic exemption) for a domestic sale, or give the customer's VAT "
            "number from the member state the goods go to.",
        )


RULES: tuple[RuleSpec, ...] = (
    due_date_after_issue,
    one_due_date,
    amounts_have_the_documents_sign,
    discount_not_negative,
    iban_check_digits,
    vat_rate_in_force,
    spanish_only_categories,
    exemption_code_matches_category,
    intra_community_between_member_states,
)
