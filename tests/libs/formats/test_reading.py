"""Every government's read_document refuses a hostile or malformed document with one typed error,
UnreadableDocumentError, saying why; nothing else escapes, and no entity is ever expanded."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import PDF, XML, render
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from tests.strategies import valid_invoices

COUNTRIES = ("RO", "BE", "DE", "FR", "IT", "PL")
UBL_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

XXE = f"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="{UBL_INVOICE}" xmlns:cbc="{CBC}"><cbc:ID>&secret;</cbc:ID></Invoice>
""".encode()
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">'.encode()
        for n in range(1, 10)
    )
    + f']>\n<Invoice xmlns="{UBL_INVOICE}" xmlns:cbc="{CBC}">'.encode()
    + b"<cbc:ID>&lol9;</cbc:ID></Invoice>"
)
WRONG_NAMESPACE = (
    b'<?xml version="1.0"?><Invoice xmlns="urn:example:not-an-invoice"><ID>1</ID></Invoice>'
)

HOSTILE = {
    "xxe": (XXE, "DTD"),
    "billion laughs": (BILLION_LAUGHS, "DTD"),
    "wrong namespace": (WRONG_NAMESPACE, "root element"),
    "not xml": (b"this is not an invoice", "not well-formed"),
    "empty": (b"", "not well-formed"),
    "DTD hidden by UTF-16": (
        XXE.decode().replace('"1.0"?>', '"1.0" encoding="UTF-16"?>').encode("utf-16"),
        "DTD",
    ),
    "truncated": (
        b'<?xml version="1.0"?><Invoice xmlns="' + UBL_INVOICE.encode(),
        "not well-formed",
    ),
}


@pytest.mark.parametrize("country", COUNTRIES)
@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_documents_are_refused_with_the_reason(country: str, case: str) -> None:
    content, reason = HOSTILE[case]
    with pytest.raises(UnreadableDocumentError, match=reason):
        GOVERNMENTS[country].read_document(content, XML)


@pytest.mark.parametrize("country", ["RO", "BE", "DE", "IT", "PL"])
def test_a_pdf_is_refused_where_no_format_is_one(country: str) -> None:
    with pytest.raises(UnreadableDocumentError, match="PDF"):
        GOVERNMENTS[country].read_document(b"%PDF-1.7\n", PDF)


_ODD_TEXTS = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=12),
    st.sampled_from(["", " ", "-1", "1e5", "NaN", "-0", "9" * 60, "2025-13-45", "XX", "0 KR"]),
)


@pytest.mark.parametrize("country", COUNTRIES)
def test_damaged_documents_are_read_or_refused_never_crash(country: str) -> None:
    """Any element removed, emptied or given odd text: the document is read, or refused with
    UnreadableDocumentError; no other exception escapes."""

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=valid_invoices(country), data=st.data())
    def read_or_refused(body: dict[str, Any], data: st.DataObject) -> None:
        request = InvoiceRequest.model_validate(body)
        # Its XML formats: the XML of a Factur-X PDF is EN 16931 CII, damaged here as such.
        formats = [fmt.name for fmt in GOVERNMENTS[country].formats() if fmt.media_type == XML]
        format_name = data.draw(st.sampled_from(formats))
        document = render(request, invoice_number="INV-1", country=country, format=format_name)
        root = etree.fromstring(document.xml)  # Clearway's own rendering: trusted here
        elements = list(root.iter())
        for _ in range(data.draw(st.integers(1, 3))):
            element = data.draw(st.sampled_from(elements))
            parent = element.getparent()
            if parent is not None and data.draw(st.booleans()):
                parent.remove(element)
            else:
                element.text = data.draw(_ODD_TEXTS)
        try:
            read = GOVERNMENTS[country].read_document(etree.tostring(root), XML)
        except UnreadableDocumentError as error:
            reason = str(error)
        else:
            assert read.format_name == format_name
            reason = "read"
        assert reason  # read, or refused with a reason

    read_or_refused()
