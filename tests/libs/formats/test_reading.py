"""Every government's read_document refuses a hostile or malformed document with one typed error,
UnreadableDocumentError, saying why; nothing else escapes, and no entity is ever expanded."""

from __future__ import annotations

import pytest
from clearway.formats import PDF, XML
from clearway.formats.hardened import UnreadableDocumentError
from clearway.governments import GOVERNMENTS

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
