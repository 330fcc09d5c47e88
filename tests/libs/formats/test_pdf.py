"""The minimal PDF under a Factur-X invoice."""

from __future__ import annotations

import io

from clearway.formats.pdf import text_page_pdf
from pypdf import PdfReader


def read(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf), strict=True)  # strict: the xref offsets must be exact


def test_one_a4_page_with_the_lines() -> None:
    reader = read(text_page_pdf(["Facture F-1", "Total : 12.00 €"]))
    assert len(reader.pages) == 1
    assert [float(v) for v in reader.pages[0].mediabox] == [0, 0, 595, 842]
    assert reader.pages[0].extract_text().splitlines() == ["Facture F-1", "Total : 12.00 €"]
    assert reader.trailer["/ID"][0] == reader.trailer["/ID"][1]


def test_pdf_string_syntax_is_escaped_and_unknown_characters_replaced() -> None:
    text = read(text_page_pdf(["a (b) \\ c", "Ș ț 中"])).pages[0].extract_text()
    assert text.splitlines() == ["a (b) \\ c", "? ? ?"]


def test_lines_beyond_the_page_are_left_out() -> None:
    reader = read(text_page_pdf([f"line {n}" for n in range(200)]))
    lines = reader.pages[0].extract_text().splitlines()
    assert lines[0] == "line 0"
    assert 40 < len(lines) < 200


def test_deterministic() -> None:
    assert text_page_pdf(["x"]) == text_page_pdf(["x"])
