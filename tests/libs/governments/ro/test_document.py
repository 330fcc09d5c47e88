from decimal import Decimal

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.governments.ro.document import CIUS_RO_CUSTOMIZATION_ID, render_ubl_cius_ro
from clearway.governments.ro.identifiers import UnknownRomanianCounty
from lxml import etree

from tests.libs.formats.support import (
    MUNICH_CUSTOMER,
    NS,
    SUPPLIER_REGISTER_AND_CONTACT,
    UBL_HEADER,
    UBL_PARTIES_TO_TOTALS,
    assert_texts,
    find,
    seed_invoice,
    text,
)
from tests.libs.formats.support import names as local_names


def render(invoice: InvoiceRequest, number: str = "INV-2025-0001") -> etree._Element:
    return etree.fromstring(render_ubl_cius_ro(invoice, invoice_number=number))


def test_output_is_utf8_xml_with_declaration() -> None:
    xml = render_ubl_cius_ro(seed_invoice(), invoice_number="INV-1")
    assert xml.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")


def test_seed_header() -> None:
    root = render(seed_invoice())
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert text(root, "cbc:CustomizationID") == CIUS_RO_CUSTOMIZATION_ID
    assert CIUS_RO_CUSTOMIZATION_ID.endswith(":CIUS-RO:1.0.1")
    assert_texts(
        root,
        {
            "cbc:ID": "INV-2025-0001",
            "cbc:IssueDate": "2025-01-15",
            "cbc:DueDate": "2025-02-15",
            "cbc:InvoiceTypeCode": "380",
            "cbc:Note": "Thank you for your business.",
            "cbc:DocumentCurrencyCode": "RON",
        },
    )


def test_seed_elements_in_ubl_schema_order() -> None:
    assert local_names(render(seed_invoice())) == [
        "CustomizationID",
        *UBL_HEADER,
        *UBL_PARTIES_TO_TOTALS,
        "InvoiceLine",
        "InvoiceLine",
    ]


def test_seed_totals() -> None:
    root = render(seed_invoice())
    monetary = root.find("cac:LegalMonetaryTotal", NS)
    assert monetary is not None
    assert [(etree.QName(e).localname, e.text, e.get("currencyID")) for e in monetary] == [
        ("LineExtensionAmount", "5200.00", "RON"),
        ("TaxExclusiveAmount", "5200.00", "RON"),
        ("TaxInclusiveAmount", "6188.00", "RON"),
        ("PayableAmount", "6188.00", "RON"),
    ]
    assert text(root, "cac:TaxTotal/cbc:TaxAmount") == "988.00"
    subtotals = root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    assert len(subtotals) == 1
    assert text(subtotals[0], "cbc:TaxableAmount") == "5200.00"
    assert text(subtotals[0], "cbc:TaxAmount") == "988.00"
    assert text(subtotals[0], "cac:TaxCategory/cbc:ID") == "S"
    assert text(subtotals[0], "cac:TaxCategory/cbc:Percent") == "19"
    assert text(subtotals[0], "cac:TaxCategory/cac:TaxScheme/cbc:ID") == "VAT"


def test_seed_parties_use_cius_ro_addresses() -> None:
    root = render(seed_invoice())
    supplier = root.find("cac:AccountingSupplierParty/cac:Party", NS)
    customer = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    assert supplier is not None
    assert customer is not None
    assert local_names(supplier) == ["PostalAddress", "PartyTaxScheme", "PartyLegalEntity"]
    assert local_names(find(supplier, "cac:PostalAddress")) == [
        "StreetName",
        "CityName",
        "PostalZone",
        "CountrySubentity",
        "Country",
    ]
    assert_texts(
        supplier,
        {
            "cac:PostalAddress/cbc:StreetName": "Strada Exemplu 42",
            "cac:PostalAddress/cbc:CityName": "SECTOR1",
            "cac:PostalAddress/cbc:PostalZone": "010101",
            "cac:PostalAddress/cbc:CountrySubentity": "RO-B",
            "cac:PostalAddress/cac:Country/cbc:IdentificationCode": "RO",
            "cac:PartyTaxScheme/cbc:CompanyID": "RO12345678",
            "cac:PartyTaxScheme/cac:TaxScheme/cbc:ID": "VAT",
            "cac:PartyLegalEntity/cbc:RegistrationName": "TechVision SRL",
        },
    )
    assert supplier.find("cac:PartyLegalEntity/cbc:CompanyID", NS) is None
    assert supplier.find("cac:Contact", NS) is None

    assert_texts(
        customer,
        {
            "cac:PostalAddress/cbc:CityName": "Cluj-Napoca",
            "cac:PostalAddress/cbc:CountrySubentity": "RO-CJ",
            "cac:PartyTaxScheme/cbc:CompanyID": "RO87654321",
            "cac:PartyLegalEntity/cbc:RegistrationName": "Client Corp SRL",
        },
    )


def test_seed_payment() -> None:
    root = render(seed_invoice())
    assert local_names(find(root, "cac:PaymentMeans")) == [
        "PaymentMeansCode",
        "PayeeFinancialAccount",
    ]
    assert text(root, "cac:PaymentMeans/cbc:PaymentMeansCode") == "30"
    account = "cac:PaymentMeans/cac:PayeeFinancialAccount"
    assert text(root, f"{account}/cbc:ID") == "RO49AAAA1B31007593840000"
    assert text(root, f"{account}/cac:FinancialInstitutionBranch/cbc:ID") == "AAABROBU"
    assert text(root, "cac:PaymentTerms/cbc:Note") == "Net 30"


def test_seed_lines() -> None:
    lines = render(seed_invoice()).findall("cac:InvoiceLine", NS)
    assert [text(line, "cbc:ID") for line in lines] == ["1", "2"]
    first = lines[0]
    assert local_names(first) == [
        "ID",
        "InvoicedQuantity",
        "LineExtensionAmount",
        "Item",
        "Price",
    ]
    quantity = first.find("cbc:InvoicedQuantity", NS)
    assert quantity is not None
    assert (quantity.text, quantity.get("unitCode")) == ("1", "C62")
    assert_texts(
        first,
        {
            "cbc:LineExtensionAmount": "5000.00",
            "cac:Item/cbc:Name": "Software development services",
            "cac:Item/cac:ClassifiedTaxCategory/cbc:ID": "S",
            "cac:Item/cac:ClassifiedTaxCategory/cbc:Percent": "19",
            "cac:Price/cbc:PriceAmount": "5000.00",
        },
    )
    assert text(lines[1], "cbc:LineExtensionAmount") == "200.00"


def test_price_is_unit_price_less_discount_and_quantity_keeps_its_digits() -> None:
    line = {
        "description": "Licences",
        "quantity": Decimal("2.5"),
        "unitPrice": Decimal("100.125"),
        "discount": Decimal("0.125"),
        "vatRate": Decimal(19),
        "unitCode": "HUR",
        "itemCode": "LIC-01",
    }
    first = render(seed_invoice(lines=[line])).findall("cac:InvoiceLine", NS)[0]
    quantity = first.find("cbc:InvoicedQuantity", NS)
    assert quantity is not None
    assert (quantity.text, quantity.get("unitCode")) == ("2.5", "HUR")
    assert text(first, "cac:Price/cbc:PriceAmount") == "100.00"
    assert text(first, "cbc:LineExtensionAmount") == "250.00"
    assert text(first, "cac:Item/cac:SellersItemIdentification/cbc:ID") == "LIC-01"
    assert local_names(find(first, "cac:Item")) == [
        "Name",
        "SellersItemIdentification",
        "ClassifiedTaxCategory",
    ]


def test_fractional_price_keeps_every_digit() -> None:
    line = {"description": "Bolt", "quantity": 1000, "unitPrice": Decimal("0.0125"), "vatRate": 19}
    first = render(seed_invoice(lines=[line])).findall("cac:InvoiceLine", NS)[0]
    assert text(first, "cac:Price/cbc:PriceAmount") == "0.0125"
    assert text(first, "cbc:LineExtensionAmount") == "12.50"


def test_zero_rate_is_category_z_and_each_rate_has_a_subtotal() -> None:
    lines = [
        {"description": "Books", "unitPrice": 100, "vatRate": 20},
        {"description": "Export", "unitPrice": 50, "vatRate": 0},
        {"description": "Food", "unitPrice": 10, "vatRate": Decimal("9.00")},
    ]
    root = render(seed_invoice(lines=lines))
    subtotals = [
        (
            text(s, "cbc:TaxableAmount"),
            text(s, "cbc:TaxAmount"),
            text(s, "cac:TaxCategory/cbc:ID"),
            text(s, "cac:TaxCategory/cbc:Percent"),
        )
        for s in root.findall("cac:TaxTotal/cac:TaxSubtotal", NS)
    ]
    assert subtotals == [
        ("100.00", "20.00", "S", "20"),
        ("10.00", "0.90", "S", "9"),
        ("50.00", "0.00", "Z", "0"),
    ]
    categories = [
        text(line, "cac:Item/cac:ClassifiedTaxCategory/cbc:ID")
        for line in root.findall("cac:InvoiceLine", NS)
    ]
    assert categories == ["S", "Z", "S"]
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "180.90"


def test_credit_note_is_a_ubl_credit_note() -> None:
    root = render(seed_invoice(invoiceType="credit_note"), number="CN-2025-0001")
    assert root.tag == f"{{{NS['cn']}}}CreditNote"
    assert text(root, "cbc:CreditNoteTypeCode") == "381"
    assert root.find("cbc:InvoiceTypeCode", NS) is None
    # UBL 2.1 CreditNote has no cbc:DueDate: BT-9 is the payment means' due date.
    assert root.find("cbc:DueDate", NS) is None
    assert text(root, "cac:PaymentMeans/cbc:PaymentDueDate") == "2025-02-15"
    assert local_names(find(root, "cac:PaymentMeans")) == [
        "PaymentMeansCode",
        "PaymentDueDate",
        "PayeeFinancialAccount",
    ]
    lines = root.findall("cac:CreditNoteLine", NS)
    assert len(lines) == 2
    assert lines[0].find("cbc:CreditedQuantity", NS) is not None
    assert root.find("cac:InvoiceLine", NS) is None
    assert text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount") == "6188.00"


def test_debit_note_is_an_invoice_with_type_383() -> None:
    root = render(seed_invoice(invoiceType="debit_note"))
    assert root.tag == f"{{{NS['inv']}}}Invoice"
    assert text(root, "cbc:InvoiceTypeCode") == "383"


def test_due_date_falls_back_to_the_payment_means_due_date() -> None:
    invoice = seed_invoice(
        dueDate=None,
        paymentMeans={"bankAccount": "RO49 AAAA 1B31 0075 9384 0000", "dueDate": "2025-03-01"},
    )
    root = render(invoice)
    assert text(root, "cbc:DueDate") == "2025-03-01"
    assert text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID") == (
        "RO49AAAA1B31007593840000"
    )
    assert (
        root.find("cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch", NS)
        is None
    )
    assert root.find("cac:PaymentTerms", NS) is None


def test_payment_terms_without_bank_account_give_no_payment_means() -> None:
    root = render(seed_invoice(paymentMeans={"paymentTerms": "Net 60"}))
    assert root.find("cac:PaymentMeans", NS) is None
    assert text(root, "cac:PaymentTerms/cbc:Note") == "Net 60"


def test_optional_header_elements_are_left_out() -> None:
    root = render(seed_invoice(note=None, dueDate=None, paymentMeans=None))
    names = local_names(root)
    assert "Note" not in names
    assert "DueDate" not in names
    assert "PaymentMeans" not in names
    assert "PaymentTerms" not in names


def test_trade_register_and_contact() -> None:
    supplier = seed_invoice().supplier.model_dump() | SUPPLIER_REGISTER_AND_CONTACT
    party = render(seed_invoice(supplier=supplier)).find(
        "cac:AccountingSupplierParty/cac:Party", NS
    )
    assert party is not None
    assert text(party, "cac:PartyLegalEntity/cbc:CompanyID") == "J40/1234/2020"
    assert local_names(find(party, "cac:Contact")) == [
        "Telephone",
        "ElectronicMail",
    ]
    assert text(party, "cac:Contact/cbc:Telephone") == "+40 21 123 4567"
    assert text(party, "cac:Contact/cbc:ElectronicMail") == "billing@techvision.ro"


def test_foreign_address_is_written_as_given() -> None:
    customer = MUNICH_CUSTOMER | {
        "address": MUNICH_CUSTOMER["address"] | {"stateOrProvince": "Bayern"}
    }
    address = render(seed_invoice(customer=customer)).find(
        "cac:AccountingCustomerParty/cac:Party/cac:PostalAddress", NS
    )
    assert address is not None
    assert text(address, "cbc:CityName") == "München"
    assert text(address, "cbc:CountrySubentity") == "Bayern"
    assert text(address, "cac:Country/cbc:IdentificationCode") == "DE"


def test_romanian_county_given_explicitly_and_diacritics_survive() -> None:
    customer = seed_invoice().customer.model_dump()
    customer["address"] |= {"city": "Timișoara", "postalCode": None, "stateOrProvince": "RO-TM"}
    customer["name"] = "Întreprinderea Ștefan SRL"
    root = render(seed_invoice(customer=customer))
    party = root.find("cac:AccountingCustomerParty/cac:Party", NS)
    assert party is not None
    assert text(party, "cac:PostalAddress/cbc:CityName") == "Timișoara"
    assert text(party, "cac:PostalAddress/cbc:CountrySubentity") == "RO-TM"
    assert party.find("cac:PostalAddress/cbc:PostalZone", NS) is None
    assert text(party, "cac:PartyLegalEntity/cbc:RegistrationName") == "Întreprinderea Ștefan SRL"


def test_romanian_address_without_a_county_is_refused() -> None:
    customer = seed_invoice().customer.model_dump()
    customer["address"] |= {"postalCode": "999999"}
    with pytest.raises(UnknownRomanianCounty):
        render(seed_invoice(customer=customer))


def test_rendering_is_deterministic() -> None:
    invoice = seed_invoice()
    first = render_ubl_cius_ro(invoice, invoice_number="INV-1")
    assert render_ubl_cius_ro(invoice, invoice_number="INV-1") == first
