"""Gate findings point back at the JSON field they came from."""

from __future__ import annotations

import pytest
from clearway.formats.pointers import json_pointer_for


@pytest.mark.parametrize(
    ("location", "pointer"),
    [
        ("/ubl:Invoice[1]/cac:InvoiceLine[2]/cbc:LineExtensionAmount[1]", "/lines/1"),
        (
            "/Invoice/cac:AccountingSupplierParty[1]/cac:Party[1]/cac:PostalAddress[1]",
            "/supplier/address",
        ),
        ("/Invoice/cac:AccountingCustomerParty[1]/cac:Party[1]/cac:PartyTaxScheme[1]", "/customer"),
        (
            "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:IncludedSupplyChainTradeLineItem[3]",
            "/lines/2",
        ),
        (
            "/p:FatturaElettronica/FatturaElettronicaBody/DatiBeniServizi/DettaglioLinee[1]/AliquotaIVA",
            "/lines/0",
        ),
        ("/Faktura/Podmiot2/DaneIdentyfikacyjne/NIP", "/customer"),
        ("/ubl:Invoice[1]/cac:LegalMonetaryTotal[1]/cbc:PayableAmount[1]", "/lines"),
        ("/ubl:Invoice[1]/cac:PaymentMeans[1]", "/paymentMeans"),
        ("/ubl:Invoice[1]/cbc:InvoiceTypeCode[1]", "/"),
        (
            "/ubl:Invoice[1]/cac:Delivery[1]/cac:DeliveryLocation[1]/cac:Address[1]",
            "/customer/address",
        ),
        (
            (
                "/rsm:CrossIndustryInvoice[1]/rsm:SupplyChainTradeTransaction[1]/"
                "ram:ApplicableHeaderTradeDelivery[1]/ram:ShipToTradeParty[1]/"
                "ram:PostalTradeAddress[1]"
            ),
            "/customer/address",
        ),
    ],
)
def test_json_pointer_for(location: str, pointer: str) -> None:
    assert json_pointer_for(location) == pointer
