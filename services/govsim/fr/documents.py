"""What the simulated French Plateforme Agréée reads from a deposited file, and checks.

The 2026 reform's base formats ("socle") are UBL 2.1, UN/CEFACT CII and Factur-X (a PDF/A-3
carrying the CII XML as an attachment). A file that is none of them, or cannot be read, is
"Irrecevable" (501) at the platform. A readable invoice is checked for what a platform must
route and de-duplicate on: the invoice number and date, the seller's and buyer's SIREN (legal
registration identifier, scheme 0002), and uniqueness of (seller SIREN, number, year); a failure
is "Rejetée" (213) with a reason. The reason codes (REJ_SEMAN, REJ_UNI) follow the French
external specifications as remembered, UNCONFIRMED; the texts are the simulator's own.

Factur-X attachments are read with pypdf (installed with factur-x, which Clearway declares) and
then parsed with the same hardened parser as every other XML; factur-x's own extraction parses
with lxml's default parser, so it is not used on untrusted input.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from services.govsim.ubl_cii import BusinessDocument, Syntax, read_document
from services.govsim.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

FACTUR_X_ATTACHMENTS = ("factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml")
SIREN_SCHEME = "0002"


class UnreadableFileError(Exception):
    """The file is not a UBL, CII or Factur-X invoice the platform can read (501)."""


@dataclass(frozen=True)
class Rejection:
    code: str
    reason: str


@dataclass(frozen=True)
class ReadInvoice:
    format: str  # UBL, CII or Factur-X
    document: BusinessDocument


def read_deposit(content: bytes) -> ReadInvoice:
    if content.startswith(b"%PDF-"):
        xml, file_format = _factur_x_xml(content), "Factur-X"
    else:
        xml, file_format = content, ""
    try:
        root = parse_untrusted_xml(xml)
    except UntrustedXmlError as error:
        raise UnreadableFileError(f"XML illisible : {error.message}") from error
    document = read_document(root)
    if document is None:
        raise UnreadableFileError("Format non reconnu : ni UBL, ni CII")
    if file_format == "Factur-X" and document.syntax is not Syntax.CII:
        raise UnreadableFileError("Factur-X : le XML joint n'est pas une facture CII")
    return ReadInvoice(file_format or ("CII" if document.syntax is Syntax.CII else "UBL"), document)


def _factur_x_xml(content: bytes) -> bytes:
    try:
        attachments = PdfReader(io.BytesIO(content)).attachments
    except (PyPdfError, ValueError, KeyError, TypeError, IndexError) as error:
        raise UnreadableFileError(f"PDF illisible : {error}") from error
    for name in (*FACTUR_X_ATTACHMENTS, *sorted(attachments)):
        if name.lower().endswith(".xml") and attachments.get(name):
            return attachments[name][0]
    raise UnreadableFileError("PDF sans XML Factur-X joint")


def check_invoice(document: BusinessDocument) -> Rejection | None:
    if not document.number:
        return Rejection("REJ_SEMAN", "Numéro de facture (BT-1) absent")
    try:
        date.fromisoformat(document.issue_date)
    except ValueError:
        return Rejection("REJ_SEMAN", "Date de facture (BT-2) absente ou invalide")
    for role, party in (("du vendeur", document.seller), ("de l'acheteur", document.buyer)):
        if party.legal_scheme != SIREN_SCHEME or not is_siren(party.legal_id):
            return Rejection(
                "REJ_SEMAN", f"SIREN {role} (identifiant légal, schéma 0002) absent ou invalide"
            )
    return None


def duplicate_key(document: BusinessDocument) -> tuple[str, str, str]:
    return (document.seller.legal_id, document.number, document.issue_date[:4])


def is_siren(value: str) -> bool:
    """Nine digits passing the Luhn check."""
    if not re.fullmatch(r"\d{9}", value):
        return False
    total = 0
    for position, character in enumerate(reversed(value)):
        digit = int(character) * (2 if position % 2 else 1)
        total += digit - 9 if digit > 9 else digit  # Luhn folds a two-digit double
    return total % 10 == 0
