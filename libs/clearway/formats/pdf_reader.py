"""Factur-X PDF -> its embedded CII XML: the reverse of fr/document.py's factur_x_pdf.

Pure: no I/O (pypdf reads the bytes in memory). Only the attachment is taken from the PDF: its
XML is then parsed like any other, by clearway.formats.hardened (factur-x's own extraction parses
with lxml's default parser, so it is not used on documents Clearway did not write).
"""

from __future__ import annotations

import io

from pypdf import PdfReader

from clearway.formats.hardened import UnreadableDocumentError
from clearway.formats.reading import refuse_oversized

# The names the Factur-X / ZUGFeRD versions give the embedded invoice, the current one first.
FACTUR_X_ATTACHMENTS = (
    "factur-x.xml",
    "zugferd-invoice.xml",
    "ZUGFeRD-invoice.xml",
    "xrechnung.xml",
)
PDF_MAGIC = b"%PDF-"


def is_pdf(content: bytes) -> bool:
    return content.startswith(PDF_MAGIC)


def factur_x_xml(pdf: bytes) -> bytes:
    """The invoice XML a Factur-X (or ZUGFeRD) PDF embeds; UnreadableDocumentError when the
    bytes are not a readable PDF or it embeds no such file."""
    refuse_oversized(pdf)
    if not is_pdf(pdf):
        raise UnreadableDocumentError("The document is not a PDF (it does not start with %PDF-).")
    try:
        attachments = PdfReader(io.BytesIO(pdf)).attachments
        embedded = {name: attachments[name] for name in attachments}
    except Exception as error:  # noqa: BLE001 - pypdf's failures on broken bytes are many kinds
        raise UnreadableDocumentError(f"The PDF cannot be read: {error}") from None
    for name in FACTUR_X_ATTACHMENTS:
        if embedded.get(name):
            return embedded[name][0]
    found = ", ".join(sorted(embedded)) or "none"
    raise UnreadableDocumentError(
        f"The PDF embeds no Factur-X invoice (factur-x.xml); its attachments: {found}."
    )
