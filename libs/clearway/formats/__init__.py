"""Clearway's document formats: JSON invoice -> each country's legal document, and its gates.

render() is the entry point: it picks the country's format (its default, or the one asked for),
renders the document and says which XML the conformance gates check. gates_for() says which gates
apply to a country and format; convert_and_check() renders and gates, as the converter does (and
POST /v1/invoices/validate with it). FORMATS is the registry: one entry per (country, format),
holding the renderer and the gates, built on first use from each government's formats()
(clearway.governments); another module adds its formats with register().

Reading back is the other direction: each government's read_document (clearway.governments.base)
turns one of its documents into the request again, with the readers beside the writers
(ubl_reader.py, cii_reader.py, pdf_reader.py for Factur-X, en16931_reader.py for what they share;
reading.py holds what every reader answers, and clearway.formats.hardened parses).

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
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearway.formats import conformance
from clearway.governments import GOVERNMENTS

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


# The gates every UBL document passes, and the CII schema.
UBL_GATES = conformance.ubl_xsd_gate, conformance.cen_ubl_gate
CII_GATES = (conformance.cii_xsd_gate,)


def ubl_format(name: str, render_xml: Callable[..., bytes], *gates: Callable[[], Gate]) -> Format:
    """A UBL document: the gates every UBL document passes, then its own."""
    return Format(name, XML, xml_renderer(render_xml), (*UBL_GATES, *gates))


# Built on first use, not at import (module __getattr__): each government's formats import its
# document module, which imports clearway.formats.
FORMATS: dict[tuple[str, str], Format]
DEFAULT_FORMATS: dict[str, str]


@functools.cache
def _tables() -> tuple[dict[tuple[str, str], Format], dict[str, str]]:
    formats: dict[tuple[str, str], Format] = {}
    defaults: dict[str, str] = {}
    for government in GOVERNMENTS.values():
        for fmt in government.formats():
            formats[(government.code, fmt.name)] = fmt
            defaults.setdefault(government.code, fmt.name)
    return formats, defaults


def __getattr__(name: str) -> object:
    if name == "FORMATS":
        return _tables()[0]
    if name == "DEFAULT_FORMATS":
        return _tables()[1]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def register(country: str, fmt: Format, *, default: bool = False) -> None:
    """Add a format (a country's first format is its default, unless another says default)."""
    formats, defaults = _tables()
    formats[(country, fmt.name)] = fmt
    if default or country not in defaults:
        defaults[country] = fmt.name


def format_for(country: str, format_name: str | None = None) -> Format:
    formats, defaults = _tables()
    name = format_name or defaults.get(country)
    entry = formats.get((country, name or ""))
    if entry is None:
        known = sorted(fmt for (cc, fmt) in formats if cc == country)
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
    """Every finding of every gate of the document's country and format, gate after gate (the
    document parsed once for all of them)."""
    parsed = conformance.ParsedDocument(document.xml)
    return [
        finding
        for gate in gates_for(country, document.format_name)
        for finding in gate.check(parsed)
    ]
