"""Romania: CIUS-RO (ANAF e-Factura) rules the JSON can break.

Rule ids and limits from ANAF's CIUS-RO Schematron 1.0.9 ("CIUS-RO version 1.0.1 compatible").
Its messages name the rule (BR-RO-080, BR-RO-L100, …); its assert ids sometimes add a digit per
party (BR-RO-081/082); the ids here are the ones in the messages ANAF returns.

Guaranteed elsewhere: BR-RO-001 (the converter writes the CIUS-RO CustomizationID), BR-RO-065
and BR-RO-120 (Party.vatNumber is required), BR-RO-A020 (one note), BR-RO-L300 for payment terms
(ShortText is at most 300 characters), BR-RO-A050 and the BR-RO-L200 limit on attachment file
names (the model allows 10 attachments with names of up to 200 characters). CW-RO-03/04 (CUI
format and check digit) run for every RO-prefixed number in clearway.validation.vat_ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from clearway.domain.invoice import Address, InvoiceRequest
from clearway.governments.ro.identifiers import (
    UnknownBucharestSector,
    UnknownRomanianCounty,
    ro_subdivision,
)
from clearway.validation.common import (
    given_invoice_number,
    invoice_number_with_a_digit,
    no_debit_notes,
    only_in_currency,
    parties,
    party_addresses,
)
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    for_countries,
    warning,
)


def rendered_city(address: Address) -> str | None:
    """BT-37/BT-52 as the converter writes it: SECTOR1…6 in Bucharest, else the city."""
    if address.country == "RO":
        try:
            return ro_subdivision(
                address.city, address.postal_code, address.state_or_province
            ).city_name
        except UnknownRomanianCounty:
            return address.city
    return address.city


def _romanian_addresses(invoice: InvoiceRequest) -> Iterator[tuple[str, Address]]:
    """Each party's address in Romania, with the party's role."""
    for role, address in party_addresses(invoice):
        if address.country == "RO":
            yield role, address


@for_countries("RO")
def county_known(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for role, address in _romanian_addresses(invoice):
        try:
            ro_subdivision(address.city, address.postal_code, address.state_or_province)
        except UnknownRomanianCounty as exc:
            bucharest = isinstance(exc, UnknownBucharestSector)
            yield error(
                "BR-RO-100" if bucharest else "BR-RO-110",
                f"/{role}/address/stateOrProvince",
                f"The {role}'s {'Bucharest sector' if bucharest else 'county'} cannot be "
                f"determined: {exc}",
                "Give stateOrProvince as an ISO 3166-2:RO code (e.g. RO-CJ, or RO-B for "
                "Bucharest) and a valid 6-digit Romanian postalCode.",
            )


@for_countries("RO")
def county_derived(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # Not wrong, but Clearway wrote something the caller did not send: say so, so that the
    # `invoice.validated` metadata records it.
    for role, address in _romanian_addresses(invoice):
        try:
            subdivision = ro_subdivision(
                address.city, address.postal_code, address.state_or_province
            )
        except UnknownRomanianCounty:
            continue  # county_known reports it
        if subdivision.derived:
            yield warning(
                "CW-RO-05",
                f"/{role}/address/stateOrProvince",
                f"The {role}'s county was derived from the address: ANAF receives city "
                f"{subdivision.city_name} and county {subdivision.country_subentity} "
                f"(from postal code {address.postal_code!r}, city {address.city!r}).",
                f"If that is right, nothing to do; to state it yourself, send stateOrProvince "
                f"{subdivision.country_subentity!r}.",
            )


@for_countries("RO")
def supplier_vat_prefix(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if not invoice.supplier.vat_number.upper().startswith("RO"):
        yield error(
            "CW-RO-02",
            "/supplier/vatNumber",
            "A Romanian VAT payer's VAT number must carry the RO prefix.",
            f"Send RO{invoice.supplier.vat_number}.",
        )


@for_countries("RO")
def street_and_city(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for role, address in party_addresses(invoice):
        if not address.street:
            yield error(
                "BR-RO-080",
                f"/{role}/address/street",
                f"The {role}'s street (address line 1) is required by CIUS-RO.",
                f"Add {role}.address.street, e.g. 'Strada Exemplu 42'.",
            )
        if not rendered_city(address):
            yield error(
                "BR-RO-090",
                f"/{role}/address/city",
                f"The {role}'s city is required by CIUS-RO.",
                f"Add {role}.address.city.",
            )


invoice_number_has_a_digit = invoice_number_with_a_digit(
    "RO", "BR-RO-010", "ANAF requires at least one", "INV-2025-0042"
)
document_type = no_debit_notes(
    "RO",
    "BR-RO-020",
    "ANAF accepts invoices (380), corrected invoices (384), self-billed invoices (389), "
    "credit notes (381) and 751; a debit note (383) is not among them.",
)
# BR-RO-030 needs BT-6 = RON when the invoice is in another currency, and BR-53 then needs the
# VAT total in RON (BT-111), which needs an exchange rate the API does not take yet.
vat_currency = only_in_currency("RO", "RON", "BR-RO-030", "ANAF")


def _normalized_length(text: str) -> int:
    # The Schematron measures string-length(normalize-space(.)).
    return len(" ".join(text.split()))


@for_countries("RO")
def field_lengths(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    limited: list[tuple[str, int, str, str | None]] = []  # rule, limit, pointer, value
    given = given_invoice_number(invoice)
    if given is not None:
        limited.append(("BR-RO-L200", 200, given[1], given[0]))
    limited.append(("BR-RO-L200", 200, "/purchaseOrderReference", invoice.purchase_order_reference))
    if invoice.preceding_invoice is not None:
        limited.append(
            ("BR-RO-L200", 200, "/precedingInvoice/number", invoice.preceding_invoice.number)
        )
    limited.append(("BR-RO-L300", 300, "/note", invoice.note))
    for role, party in parties(invoice):
        limited += [
            ("BR-RO-L200", 200, f"/{role}/name", party.name),
            ("BR-RO-L100", 100, f"/{role}/email", party.email),
            ("BR-RO-L100", 100, f"/{role}/phone", party.phone),
        ]
        if party.address is not None:
            limited += [
                ("BR-RO-L150", 150, f"/{role}/address/street", party.address.street),
                ("BR-RO-L050", 50, f"/{role}/address/city", rendered_city(party.address)),
                ("BR-RO-L020", 20, f"/{role}/address/postalCode", party.address.postal_code),
            ]
    for index, line in enumerate(invoice.lines):
        limited += [
            ("BR-RO-L100", 100, f"/lines/{index}/description", line.description),
            ("BR-RO-L100", 100, f"/lines/{index}/vatExemptionReason", line.vat_exemption_reason),
        ]
    for rule, limit, pointer, value in limited:
        if value is not None and _normalized_length(value) > limit:
            yield error(
                rule,
                pointer,
                f"{pointer} is {_normalized_length(value)} characters long; CIUS-RO allows "
                f"{limit}.",
                f"Shorten {pointer} to at most {limit} characters.",
            )


RULES: tuple[RuleSpec, ...] = (
    county_known,
    county_derived,
    supplier_vat_prefix,
    street_and_city,
    invoice_number_has_a_digit,
    document_type,
    vat_currency,
    field_lengths,
)
