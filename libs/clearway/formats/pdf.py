"""A minimal one-page PDF with lines of text: the visible part of a Factur-X invoice.

Pure: no I/O, no dependency. Factur-X is a PDF/A-3 that embeds the CII XML; the factur-x package
embeds the XML and writes the PDF/A-3 metadata, but it needs a PDF to start from, and Clearway
has no layout engine. This writes the smallest valid PDF 1.7 that shows the invoice's key data.

Limits (why the result is not a verified PDF/A-3): the text uses the standard Helvetica font,
which PDF/A requires to be embedded, and there is no OutputIntent ICC profile. Neither a font
file nor an ICC profile is shipped with the installed packages, and no PDF/A validator (such as
veraPDF) runs offline here. The structured invoice, which is what Factur-X receivers process, is
complete and passes the gates.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

_A4_WIDTH, _A4_HEIGHT = 595, 842  # points
_MARGIN = 56
_FONT_SIZE = 10
_LEADING = 14
_MAX_LINES = (_A4_HEIGHT - 2 * _MARGIN) // _LEADING


def text_page_pdf(lines: Sequence[str]) -> bytes:
    """A PDF with one A4 page showing the lines (those that do not fit are left out)."""
    content = _content_stream(lines[:_MAX_LINES])
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>" % (_A4_WIDTH, _A4_HEIGHT),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    output = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(output))
        output += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_offset = len(output)
    output += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        output += b"%010d 00000 n \n" % offset
    file_id = hashlib.md5(bytes(output), usedforsecurity=False).hexdigest().encode("ascii")
    output += b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        file_id,
        file_id,
        xref_offset,
    )
    return bytes(output)


def _content_stream(lines: Sequence[str]) -> bytes:
    top = _A4_HEIGHT - _MARGIN
    commands = [b"BT", b"/F1 %d Tf" % _FONT_SIZE, b"%d TL" % _LEADING, b"%d %d Td" % (_MARGIN, top)]
    commands.extend(b"(%s) Tj T*" % _pdf_string(line) for line in lines)
    commands.append(b"ET")
    return b"\n".join(commands)


def _pdf_string(text: str) -> bytes:
    """A PDF literal string's body in WinAnsi (cp1252); characters it lacks become '?'."""
    encoded = " ".join(text.split()).encode("cp1252", errors="replace")
    return encoded.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
