"""Was a lost upload registered by ANAF? Deciding it from the message list. Pure: no I/O.

An upload whose answer was lost has no index to follow. ANAF's message list shows, per CIF, one
row per processed upload: `FACTURA TRIMISA` when accepted, `ERORI FACTURA` when rejected, with
the upload's index (`id_solicitare`) and a download id. The download of an accepted message
holds the invoice exactly as uploaded, so a candidate is ours when its file is byte for byte our
document, or (should ANAF ever re-serialise it) when it has our invoice number, issue date and
supplier CIF: the legal identity of an invoice.

Only accepted rows are looked at. A rejected upload filed nothing, so sending the invoice again
cannot file it twice; its error report names no invoice number to match on anyway.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable

from lxml import etree
from pydantic import BaseModel, ConfigDict

from clearway.formats.hardened import hardened_parser
from clearway.governments.ro.client import (
    AnafProtocolError,
    ListedMessage,
    MessageKind,
    downloaded_files,
)

_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
_SUPPLIER_IDS = (
    "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID",
    "cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:CompanyID",
)
# data_creare has minute precision: a row stamped in the minute the upload began is a candidate.
_MINUTE = dt.timedelta(minutes=1)


class InvoiceFingerprint(BaseModel):
    model_config = ConfigDict(frozen=True)

    document_sha256: str
    invoice_number: str | None
    issue_date: str | None
    supplier_cif: str | None  # digits, without the RO prefix


def _cif_digits(value: str) -> str:
    compact = "".join(value.split()).upper().removeprefix("RO")
    return compact if compact.isdigit() else ""


def fingerprint_document(xml: bytes) -> InvoiceFingerprint:
    digest = hashlib.sha256(xml).hexdigest()
    try:
        root = etree.fromstring(xml, parser=hardened_parser())
    except etree.XMLSyntaxError:
        return InvoiceFingerprint(
            document_sha256=digest, invoice_number=None, issue_date=None, supplier_cif=None
        )
    supplier = next(
        (
            cif
            for path in _SUPPLIER_IDS
            for element in root.iterfind(path, _NS)
            if (cif := _cif_digits(element.text or ""))
        ),
        None,
    )
    return InvoiceFingerprint(
        document_sha256=digest,
        invoice_number=(root.findtext("cbc:ID", None, _NS) or "").strip() or None,
        issue_date=(root.findtext("cbc:IssueDate", None, _NS) or "").strip() or None,
        supplier_cif=supplier,
    )


def fingerprint_download(zip_content: bytes) -> InvoiceFingerprint:
    """The fingerprint of the invoice inside an accepted message's download."""
    files = downloaded_files(zip_content)
    if not files:
        raise AnafProtocolError("ANAF's download holds no invoice")
    return fingerprint_document(next(iter(files.values())))


def same_invoice(ours: InvoiceFingerprint, theirs: InvoiceFingerprint) -> bool:
    if ours.document_sha256 == theirs.document_sha256:
        return True
    identity = (ours.invoice_number, ours.issue_date, ours.supplier_cif)
    return None not in identity and identity == (
        theirs.invoice_number,
        theirs.issue_date,
        theirs.supplier_cif,
    )


def candidates(
    messages: Iterable[ListedMessage], *, since: dt.datetime, known_upload_ids: set[str]
) -> list[ListedMessage]:
    """Accepted messages created since the lost upload began that no invoice has claimed."""
    return [
        message
        for message in messages
        if message.kind == MessageKind.SENT
        and message.created >= since - _MINUTE
        and message.upload_id not in known_upload_ids
    ]
