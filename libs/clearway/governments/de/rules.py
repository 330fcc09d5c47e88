"""Germany: XRechnung's rules the JSON can break, and the Leitweg-ID of public buyers.

Rule ids, texts and severities from KoSIT's XRechnung 3.0.x rules (the official stylesheets the DE
gate runs, clearway.formats.conformance.xrechnung_ubl_gate): BR-DE-17, -27 and -28 are warnings
there and here. The Leitweg-ID goes in BT-10 (buyer reference); its check digits are Clearway's
CW-DE-03/04 (XRechnung does not check them, the federal and Länder platforms do). CW-DE-01/02
(USt-IdNr) run in clearway.validation.vat_ids.

Left to the converter (clearway.governments.de.document): BR-DE-2 and BR-DE-5 (the seller contact
group and its name, written from supplier.name), BR-DE-14 (the rate in every VAT breakdown, 0 for
O), BR-DE-16 (seller VAT id: required by the model), BR-DE-21 (the XRechnung specification id),
BR-DE-23…25 (payment means code and its group: Clearway pays by credit transfer), and the line
break BR-DE-18 wants after the last Skonto entry (the API strips a trailing one from
paymentTerms; the converter writes it back). The deliver-to address of an intra-community supply
(BG-15, BR-IC-12) is the buyer's address, so BR-DE-10/11 ask for its city and post code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from clearway.domain.invoice import InvoiceRequest, VatCategory
from clearway.governments.de.identifiers import is_leitweg_id_format, is_valid_leitweg_id
from clearway.validation.common import no_debit_notes, party_addresses
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    for_countries,
    warning,
)

# BR-DE-18 (XR-SKONTO-REGEX of XRechnung 3.0): a payment-terms line that starts with # is a
# discount (Skonto) entry in this exact form; 3.0 dropped the late-interest (VERZUG) entry.
_SKONTO_LINE = re.compile(
    r"#SKONTO#TAGE=[0-9]+#PROZENT=[0-9]+\.[0-9]{2}(#BASISBETRAG=-?[0-9]+\.[0-9]{2})?#"
)
# BR-DE-27: at least three digits. BR-DE-28: one @ between a dot-atom local part and a domain.
_THREE_DIGITS = re.compile(r"(\D*\d){3}")
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_EMAIL = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+{_LABEL}")


@for_countries("DE")
def payment_instructions(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    means = invoice.payment_means
    if means is None or means.bank_account is None:
        yield error(
            "BR-DE-1",
            "/paymentMeans/bankAccount" if means is not None else "/paymentMeans",
            "An XRechnung must say how to pay: the account (IBAN) to transfer to is missing.",
            "Give paymentMeans.bankAccount (the IBAN) and, if you have it, paymentMeans.bic.",
        )


@for_countries("DE")
def seller_contact(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    supplier = invoice.supplier
    if not supplier.phone:
        yield error(
            "BR-DE-6",
            "/supplier/phone",
            "An XRechnung must give the seller's contact telephone number.",
            "Add supplier.phone, e.g. +49 30 1234567.",
        )
    elif not _THREE_DIGITS.match(supplier.phone):
        yield warning(
            "BR-DE-27",
            "/supplier/phone",
            f"The seller's telephone number {supplier.phone!r} has fewer than three digits.",
            "Give the full telephone number.",
        )
    if not supplier.email:
        yield error(
            "BR-DE-7",
            "/supplier/email",
            "An XRechnung must give the seller's contact e-mail address.",
            "Add supplier.email, e.g. rechnung@example.de.",
        )
    elif not _EMAIL.fullmatch(supplier.email):
        yield warning(
            "BR-DE-28",
            "/supplier/email",
            f"The seller's e-mail address {supplier.email!r} does not look like one.",
            "Give an address of the form name@domain.tld.",
        )


@for_countries("DE")
def city_and_post_code(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    city_rule = {"supplier": "BR-DE-3", "customer": "BR-DE-8"}
    post_code_rule = {"supplier": "BR-DE-4", "customer": "BR-DE-9"}
    for role, address in party_addresses(invoice):
        if not address.city:
            yield error(
                city_rule[role],
                f"/{role}/address/city",
                f"An XRechnung must give the {role}'s city.",
                f"Add {role}.address.city.",
            )
        if not address.postal_code:
            yield error(
                post_code_rule[role],
                f"/{role}/address/postalCode",
                f"An XRechnung must give the {role}'s post code.",
                f"Add {role}.address.postalCode.",
            )


@for_countries("DE")
def deliver_to_address(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    """BR-DE-10/11 on the deliver-to address, which for a K supply is the buyer's address."""
    address = invoice.customer.address
    if address is None or not any(
        line.effective_vat_category is VatCategory.INTRA_COMMUNITY for line in invoice.lines
    ):
        return  # no deliver-to address is written (BR-IC-12 reports a K supply without one)
    why = (
        "An intra-community supply names where the goods went (the deliver-to address, BG-15), "
        "which Clearway writes from the buyer's address, and XRechnung requires its"
    )
    if not address.city:
        yield error(
            "BR-DE-10",
            "/customer/address/city",
            f"{why} city (BT-77).",
            "Add customer.address.city: the city the goods were delivered to in the buyer's "
            "member state.",
        )
    if not address.postal_code:
        yield error(
            "BR-DE-11",
            "/customer/address/postalCode",
            f"{why} post code (BT-78).",
            "Add customer.address.postalCode: the post code of the place of delivery.",
        )


@for_countries("DE")
def buyer_electronic_address(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    """PEPPOL-EN16931-R010 (in KoSIT's rules): the buyer's electronic address (BT-49)."""
    customer = invoice.customer
    peppol_id = customer.peppol_id or ""
    scheme, _colon, identifier = peppol_id.partition(":")
    if (scheme.strip() and identifier.strip()) or customer.leitweg_id or customer.email:
        return
    yield error(
        "PEPPOL-EN16931-R010",
        "/customer/email",
        "An XRechnung must give the buyer's electronic address (BT-49), and the customer has "
        "none: no peppolId, no Leitweg-ID and no e-mail address.",
        "Add the address the buyer receives invoices at: customer.peppolId (its Peppol "
        "participant id, e.g. 9930:DE123456789), customer.leitwegId for a public buyer, or "
        "customer.email (its invoice mailbox).",
    )


@for_countries("DE")
def buyer_reference(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    leitweg_id = invoice.customer.leitweg_id
    if invoice.buyer_reference is None and leitweg_id is None:
        yield error(
            "BR-DE-15",
            "/buyerReference",
            "An XRechnung must carry the buyer reference (BT-10).",
            "Give buyerReference (the reference the customer asked for), or for a public "
            "buyer its Leitweg-ID in customer.leitwegId.",
        )
    if leitweg_id is None:
        return
    if not is_leitweg_id_format(leitweg_id):
        yield error(
            "CW-DE-03",
            "/customer/leitwegId",
            f"{leitweg_id!r} is not a Leitweg-ID: 2 to 12 digits starting with the Land (01-16) "
            "or 99 (Bund), an optional part of up to 30 letters and digits, then two check "
            "digits, joined by hyphens.",
            "Copy the Leitweg-ID from the public buyer's order, e.g. 04011000-1234512345-06.",
        )
    elif not is_valid_leitweg_id(leitweg_id):
        yield context.check_digits_wrong(
            "CW-DE-04",
            "/customer/leitwegId",
            f"{leitweg_id}: the Leitweg-ID's check digits do not match.",
            "Copy the Leitweg-ID from the public buyer's order again.",
        )
    if invoice.buyer_reference is not None and invoice.buyer_reference != leitweg_id:
        yield error(
            "CW-DE-05",
            "/buyerReference",
            f"buyerReference {invoice.buyer_reference!r} differs from the Leitweg-ID "
            f"{leitweg_id!r}; an XRechnung carries one buyer reference, and for a public buyer "
            "it is the Leitweg-ID.",
            "Drop buyerReference (or make it the Leitweg-ID); an order number goes in "
            "purchaseOrderReference.",
        )


document_type = no_debit_notes(
    "DE",
    "BR-DE-17",
    "XRechnung expects invoices (380), corrections (384), self-billed invoices (389), partial "
    "and construction invoices, and credit notes (381); a debit note (383) is outside that "
    "list and some recipients refuse it.",
    "Send the additional charge as an invoice.",
    report=warning,
)


@for_countries("DE")
def skonto_terms(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    terms = invoice.payment_means.payment_terms if invoice.payment_means else None
    if terms is None:
        return
    coded = [line.strip() for line in terms.splitlines() if line.strip().startswith("#")]
    bad = [line for line in coded if not _SKONTO_LINE.fullmatch(line)]
    if bad:
        yield error(
            "BR-DE-18",
            "/paymentMeans/paymentTerms",
            f"Payment terms line {bad[0]!r} starts with # but is not an XRechnung discount "
            "(Skonto) entry.",
            "Write it as #SKONTO#TAGE=14#PROZENT=2.00# (optionally #BASISBETRAG=100.00 before the "
            "last #), in capitals, one entry per line; or do not start the line with #.",
        )


@for_countries("DE")
def unique_attachment_names(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    seen: set[str] = set()
    for index, attachment in enumerate(invoice.attachments):
        if attachment.filename in seen:
            yield error(
                "BR-DE-22",
                f"/attachments/{index}/filename",
                f"Two attachments are called {attachment.filename!r}; XRechnung needs unique "
                "file names.",
                "Rename one of them.",
            )
        seen.add(attachment.filename)


RULES: tuple[RuleSpec, ...] = (
    payment_instructions,
    seller_contact,
    city_and_post_code,
    deliver_to_address,
    buyer_electronic_address,
    buyer_reference,
    document_type,
    skonto_terms,
    unique_attachment_names,
)
