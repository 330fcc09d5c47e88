"""The Factur-X reader: the embedded CII comes out of the PDF and is parsed like any other XML;
a broken PDF, a PDF without invoice, or a hostile embedded XML is refused with the reason."""

from __future__ import annotations

import io

import pytest
from clearway.formats import PDF, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.formats.pdf import text_page_pdf
from clearway.formats.pdf_reader import factur_x_xml
from clearway.governments import GOVERNMENTS
from pypdf import PdfReader, PdfWriter

from tests.libs.formats.corpus import invoice
from tests.libs.formats.test_reading import BILLION_LAUGHS, XXE

FR = GOVERNMENTS["FR"]


def pdf_embedding(name: str, content: bytes) -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_page_pdf(["Facture"]))))
    writer.add_attachment(name, content)
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def test_the_embedded_invoice_is_the_rendered_cii() -> None:
    document = render(invoice("FR"), invoice_number="F-1", country="FR", format="FACTUR-X")
    assert factur_x_xml(document.content) == document.xml
    assert FR.read_document(document.content, PDF).format_name == "FACTUR-X"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"%PDF-1.7\n1 0 obj<< /Type /Catalog", "The PDF cannot be read"),
        (b"%PDF-", "The PDF cannot be read"),
        (b"<not a pdf/>", "not a PDF"),
        (text_page_pdf(["Facture"]), r"embeds no Factur-X invoice.*none"),
        (pdf_embedding("notes.txt", b"hello"), r"embeds no Factur-X invoice.*notes.txt"),
        (pdf_embedding("factur-x.xml", XXE), "DTD"),
        (pdf_embedding("factur-x.xml", BILLION_LAUGHS), "DTD"),
        (pdf_embedding("factur-x.xml", b"not xml"), "not well-formed"),
    ],
    ids=[
        "truncated",
        "header only",
        "not a pdf",
        "no attachment",
        "other attachment",
        "xxe",
        "billion laughs",
        "not xml",
    ],
)
def test_a_broken_or_hostile_pdf_is_refused_with_the_reason(content: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=reason):
        FR.read_document(content, PDF)
