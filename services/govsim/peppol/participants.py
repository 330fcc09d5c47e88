"""Peppol's own identifiers as the simulated access point reads them: participant ids
(`iso6523-actorid-upis`, with the Belgian and German schemes' checks) and document type ids
(`busdox-docid-qns`), and the document types the sandbox SMP lists by default (the billing
documents, and the Invoice Response a buyer answers them with)."""

from __future__ import annotations

import re

from services.govsim.de.leitweg import leitweg_id_problem
from services.govsim.peppol.invoice_response import DOCUMENT_TYPE as INVOICE_RESPONSE
from services.govsim.ubl_cii import (
    CII_NS,
    PEPPOL_BIS3,
    UBL_CREDIT_NOTE_NS,
    UBL_INVOICE_NS,
    XRECHNUNG_3,
    Syntax,
)

PARTICIPANT_SCHEME = "iso6523-actorid-upis"
DOCUMENT_SCHEME = "busdox-docid-qns"
BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
PARTICIPANT_ID = re.compile(r"(?P<icd>\d{4}):(?P<value>[A-Za-z0-9.\-_]{1,50})")
# busdox-docid-qns: <root namespace>::<root element>##<customization id>::<syntax version>
DOCUMENT_TYPE_ID = re.compile(r"[^\s#]+::[A-Za-z][\w.-]*##[^\s]+::[\w.-]+")


def document_type_id(syntax: Syntax, customization_id: str) -> str:
    """The Peppol document type identifier of a document with this root and CustomizationID."""
    if syntax is Syntax.CII:
        return f"{CII_NS}::CrossIndustryInvoice##{customization_id}::D16B"
    namespace, root = (
        (UBL_INVOICE_NS, "Invoice")
        if syntax is Syntax.UBL_INVOICE
        else (UBL_CREDIT_NOTE_NS, "CreditNote")
    )
    return f"{namespace}::{root}##{customization_id}::2.1"


DEFAULT_DOCUMENT_TYPES = (
    *(
        document_type_id(syntax, customization)
        for customization in (PEPPOL_BIS3, XRECHNUNG_3)
        for syntax in (Syntax.UBL_INVOICE, Syntax.UBL_CREDIT_NOTE)
    ),
    document_type_id(Syntax.CII, XRECHNUNG_3),
    # A buyer's Invoice Response back to the supplier: the sandbox's suppliers take it.
    INVOICE_RESPONSE,
)


def normalize_participant(raw: str) -> str:
    """ "0208:0123456749" from either that or "iso6523-actorid-upis::0208:0123456749"."""
    value = raw.strip()
    prefix = f"{PARTICIPANT_SCHEME}::"
    return value[len(prefix) :] if value.lower().startswith(prefix) else value


def participant_problem(participant: str) -> str | None:
    """Why `participant` is no valid participant identifier, or None."""
    match = PARTICIPANT_ID.fullmatch(participant)
    if match is None:
        return f"{participant!r} is not an ICD:identifier participant id"
    icd, value = match["icd"], match["value"]
    if icd == "0208" and not _belgian_enterprise_number(value):
        return f"{value} is not a Belgian enterprise number (10 digits, mod 97)"
    if icd == "9925" and not (value[:2].upper() == "BE" and _belgian_enterprise_number(value[2:])):
        return f"{value} is not a Belgian VAT number (BE + enterprise number)"
    if icd == "9930" and not re.fullmatch(r"(?i:DE)\d{9}", value):
        return f"{value} is not a German VAT number (DE + 9 digits)"
    if icd == "0204":
        return leitweg_id_problem(value)
    return None


def _belgian_enterprise_number(value: str) -> bool:
    return bool(re.fullmatch(r"[01]\d{9}", value)) and 97 - int(value[:8]) % 97 == int(value[8:])
