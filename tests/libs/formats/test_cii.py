"""The CII D16B writer: element order (the schema's content models are sequences) and content."""

from __future__ import annotations

from lxml import etree

from tests.libs.formats.support import NS, find, names, rendered_tree

TRANSACTION = "rsm:SupplyChainTradeTransaction"
AGREEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeAgreement"
SETTLEMENT = f"{TRANSACTION}/ram:ApplicableHeaderTradeSettlement"


def cii(country: str, case: str | None = None, **changes: object) -> etree._Element:
    name = {"FR": "EN16931-CII", "DE": "XRECHNUNG-CII"}[country]
    return rendered_tree(country, case, format_name=name, **changes)


def test_document_order() -> None:
    root = cii("FR", "multiple_rates_discount_attachment")
    assert names(root) == [
        "ExchangedDocumentContext",
        "ExchangedDocument",
        "SupplyChainTradeTransaction",
    ]
    assert names(find(root, "rsm:ExchangedDocumentContext")) == [
        "BusinessProcessSpecifiedDocumentContextParameter",
        "GuidelineSpecifiedDocumentContextParameter",
    ]
    assert names(find(root, "rsm:ExchangedDocument")) == [
        "ID",
        "TypeCode",
        "IssueDateTime",
        "IncludedNote",
        "IncludedNote",
        "IncludedNote",
        "IncludedNote",
    ]
    assert names(find(root, TRANSACTION)) == [
        "IncludedSupplyChainTradeLineItem",
        "IncludedSupplyChainTradeLineItem",
        "IncludedSupplyChainTradeLineItem",
        "ApplicableHeaderTradeAgreement",
        "ApplicableHeaderTradeDelivery",
        "ApplicableHeaderTradeSettlement",
    ]
    assert names(find(root, AGREEMENT)) == [
        "BuyerReference",
        "SellerTradeParty",
        "BuyerTradeParty",
        "BuyerOrderReferencedDocument",
        "AdditionalReferencedDocument",
    ]
    assert names(find(root, SETTLEMENT)) == [
        "InvoiceCurrencyCode",
        "SpecifiedTradeSettlementPaymentMeans",
        "ApplicableTradeTax",
        "ApplicableTradeTax",
        "SpecifiedTradePaymentTerms",
        "SpecifiedTradeSettlementHeaderMonetarySummation",
    ]


def test_party_order() -> None:
    seller = find(cii("FR"), f"{AGREEMENT}/ram:SellerTradeParty")
    assert names(seller) == [
        "GlobalID",
        "Name",
        "SpecifiedLegalOrganization",
        "DefinedTradeContact",
        "PostalTradeAddress",
        "URIUniversalCommunication",
        "SpecifiedTaxRegistration",
    ]
    assert names(find(seller, "ram:PostalTradeAddress")) == [
        "PostcodeCode",
        "LineOne",
        "CityName",
        "CountryID",
    ]
    registration = find(seller, "ram:SpecifiedTaxRegistration/ram:ID")
    assert (registration.text, registration.get("schemeID")) == ("FR44732829320", "VA")


def test_line_order_with_a_price_discount() -> None:
    items = cii("FR", "multiple_rates_discount_attachment").findall(
        f"{TRANSACTION}/ram:IncludedSupplyChainTradeLineItem", NS
    )
    item = items[2]
    assert names(item) == [
        "AssociatedDocumentLineDocument",
        "SpecifiedTradeProduct",
        "SpecifiedLineTradeAgreement",
        "SpecifiedLineTradeDelivery",
        "SpecifiedLineTradeSettlement",
    ]
    assert names(find(item, "ram:SpecifiedTradeProduct")) == ["SellerAssignedID", "Name"]
    agreement = find(item, "ram:SpecifiedLineTradeAgreement")
    assert names(agreement) == ["GrossPriceProductTradePrice", "NetPriceProductTradePrice"]
    gross = find(agreement, "ram:GrossPriceProductTradePrice")
    assert names(gross) == ["ChargeAmount", "AppliedTradeAllowanceCharge"]
    assert find(gross, "ram:ChargeAmount").text == "99.99"
    discount = find(gross, "ram:AppliedTradeAllowanceCharge")
    assert find(discount, "ram:ChargeIndicator/udt:Indicator").text == "false"
    assert find(discount, "ram:ActualAmount").text == "10.005"
    assert find(agreement, "ram:NetPriceProductTradePrice/ram:ChargeAmount").text == "89.985"
    quantity = find(item, "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity")
    assert (quantity.text, quantity.get("unitCode")) == ("3", "C62")
    settlement = find(item, "ram:SpecifiedLineTradeSettlement")
    assert names(find(settlement, "ram:ApplicableTradeTax")) == [
        "TypeCode",
        "CategoryCode",
        "RateApplicablePercent",
    ]
    total = "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
    assert find(settlement, total).text == "269.96"


def test_exempt_breakdown_order() -> None:
    taxes = cii("DE", "exempt").findall(f"{SETTLEMENT}/ram:ApplicableTradeTax", NS)
    assert names(taxes[1]) == [
        "CalculatedAmount",
        "TypeCode",
        "ExemptionReason",
        "BasisAmount",
        "CategoryCode",
        "ExemptionReasonCode",
        "RateApplicablePercent",
    ]
    assert find(taxes[1], "ram:CategoryCode").text == "E"


def test_dates_are_format_102_and_only_the_vat_total_has_a_currency() -> None:
    root = cii("DE", "credit_note")
    issued = find(root, "rsm:ExchangedDocument/ram:IssueDateTime/udt:DateTimeString")
    assert (issued.text, issued.get("format")) == ("20260302", "102")
    due = f"{SETTLEMENT}/ram:SpecifiedTradePaymentTerms/ram:DueDateDateTime/udt:DateTimeString"
    assert find(root, due).text == "20260401"
    with_currency = [etree.QName(e).localname for e in root.iter() if e.get("currencyID")]
    assert with_currency == ["TaxTotalAmount"]


def test_credit_note_references_the_corrected_invoice_last() -> None:
    root = cii("FR", "credit_note")
    assert find(root, "rsm:ExchangedDocument/ram:TypeCode").text == "381"
    settlement = find(root, SETTLEMENT)
    assert names(settlement)[-1] == "InvoiceReferencedDocument"
    reference = find(settlement, "ram:InvoiceReferencedDocument")
    assert names(reference) == ["IssuerAssignedID", "FormattedIssueDateTime"]
    issued = find(reference, "ram:FormattedIssueDateTime/qdt:DateTimeString")
    assert (issued.text, issued.get("format")) == ("20260215", "102")


def test_intra_community_supply_delivery() -> None:
    delivery = find(
        cii("DE", "intra_community"), f"{TRANSACTION}/ram:ApplicableHeaderTradeDelivery"
    )
    assert names(delivery) == ["ShipToTradeParty", "ActualDeliverySupplyChainEvent"]
    assert find(delivery, "ram:ShipToTradeParty/ram:PostalTradeAddress/ram:CountryID").text == "FR"
    occurrence = "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime/udt:DateTimeString"
    assert find(delivery, occurrence).text == "20260302"


def test_attachment_is_a_related_document() -> None:
    root = cii("DE", "multiple_rates_discount_attachment")
    reference = find(root, f"{AGREEMENT}/ram:AdditionalReferencedDocument")
    assert names(reference) == ["IssuerAssignedID", "TypeCode", "AttachmentBinaryObject"]
    assert find(reference, "ram:TypeCode").text == "916"
    binary = find(reference, "ram:AttachmentBinaryObject")
    assert (binary.get("mimeCode"), binary.get("filename")) == ("application/pdf", "timesheet.pdf")


def test_not_subject_to_vat_uses_a_tax_registration_and_no_rate() -> None:
    # Plain EN 16931 (FR); XRechnung states a 0 rate in the breakdown (BR-DE-14, test_xrechnung).
    root = cii("FR", "not_subject_to_vat")
    registration = find(
        root, f"{AGREEMENT}/ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID"
    )
    assert (registration.text, registration.get("schemeID")) == ("FR44732829320", "FC")
    assert root.find(f"{AGREEMENT}/ram:BuyerTradeParty/ram:SpecifiedTaxRegistration", NS) is None
    tax = find(root, f"{SETTLEMENT}/ram:ApplicableTradeTax")
    assert "RateApplicablePercent" not in names(tax)
