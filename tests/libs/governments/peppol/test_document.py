"""Peppol BIS Billing 3.0 (BE): identifiers, and electronic addresses from peppolId."""

from __future__ import annotations

import pytest
from clearway.governments.peppol.document import (
    PEPPOL_BILLING_PROFILE_ID,
    PEPPOL_BIS_CUSTOMIZATION_ID,
    belgian_enterprise_number,
    render_peppol_bis,
)
from lxml import etree

from tests.libs.formats.corpus import base_request, invoice
from tests.libs.formats.support import NS

SELLER = "cac:AccountingSupplierParty/cac:Party"
BUYER = "cac:AccountingCustomerParty/cac:Party"


def peppol(case: str | None = None, **changes: object) -> etree._Element:
    return etree.fromstring(render_peppol_bis(invoice("BE", case, **changes), invoice_number="1"))


def endpoint(root: etree._Element, party: str) -> tuple[str | None, str | None] | None:
    element = root.find(f"{party}/cbc:EndpointID", NS)
    return None if element is None else (element.get("schemeID"), element.text)


def test_specification_and_process_identifiers() -> None:
    root = peppol()
    assert root.findtext("cbc:CustomizationID", namespaces=NS) == PEPPOL_BIS_CUSTOMIZATION_ID
    assert PEPPOL_BIS_CUSTOMIZATION_ID.endswith(":poacc:billing:3.0")
    assert root.findtext("cbc:ProfileID", namespaces=NS) == PEPPOL_BILLING_PROFILE_ID


def test_endpoint_from_peppol_id_and_from_the_belgian_vat_number() -> None:
    root = peppol()
    # supplier.peppolId "0208:0123456749"; the customer has none, its VAT number is BE0876543270
    assert endpoint(root, SELLER) == ("0208", "0123456749")
    assert endpoint(root, BUYER) == ("0208", "0876543270")
    legal = root.find(f"{SELLER}/cac:PartyLegalEntity/cbc:CompanyID", NS)
    assert legal is not None
    assert (legal.get("schemeID"), legal.text) == ("0208", "0123456749")


def test_foreign_party_uses_its_peppol_id_or_gets_no_endpoint() -> None:
    assert endpoint(peppol("intra_community"), BUYER) == ("9944", "NL123456789B01")
    customer = base_request("BE")["customer"] | {"vatNumber": "NL123456789B01"}
    assert endpoint(peppol(customer=customer), BUYER) is None


@pytest.mark.parametrize(
    ("vat_number", "expected"),
    [
        ("BE0123456749", "0123456749"),
        ("BE 0123.456.749", "0123456749"),
        ("be0123456749", "0123456749"),
        ("BE123456749", None),
        ("NL123456789B01", None),
    ],
)
def test_belgian_enterprise_number(vat_number: str, expected: str | None) -> None:
    assert belgian_enterprise_number(vat_number) == expected
