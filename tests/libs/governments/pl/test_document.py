import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats.conformance import UnreadableDocumentError
from clearway.formats.xsd_gate import (
    FA3_MAIN_SCHEMA,
    FA3_PACKAGE,
    FA3_RULE_ID,
    FA3_SCHEMA_DIR,
    SchemaResolutionError,
    XsdGate,
    fa3_gate,
    shipped_schemas,
)
from clearway.governments.pl.document import NS_FA3, nip_digits, render_fa3
from ksef_client.documents.fa3.xml import validate_fa3_xml_xsd
from lxml import etree

from tests.libs.formats.support import NS, assert_texts, find, rule_ids, tampered, text, texts
from tests.libs.formats.support import names as local_names

CREATED = dt.datetime(2025, 10, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
SUPPLIER = {
    "vatNumber": "PL5261040828",
    "name": "Przykładowa Firma Sp. z o.o.",
    "email": "faktury@przyklad.pl",
    "phone": "+48 22 123 45 67",
    "address": {
        "street": "ul. Marszałkowska 10/12",
        "city": "Warszawa",
        "postalCode": "00-590",
        "country": "PL",
    },
}
CUSTOMER = {
    "vatNumber": "7740001454",
    "name": "Nabywca S.A.",
    "address": {"street": "ul. Długa 5", "city": "Gdańsk", "postalCode": "80-827", "country": "PL"},
}
EU_CUSTOMER = {
    "vatNumber": "DE123456789",
    "name": "Kunde GmbH",
    "address": {
        "street": "Hauptstraße 1",
        "city": "Berlin",
        "postalCode": "10115",
        "country": "DE",
    },
}


def pl_invoice(**changes: Any) -> InvoiceRequest:
    base: dict[str, Any] = {
        "country": "PL",
        "supplier": SUPPLIER,
        "customer": CUSTOMER,
        "lines": [
            {
                "description": "Usługa programistyczna",
                "quantity": 10,
                "unitPrice": 150,
                "vatRate": 23,
            },
            {"description": "Catering", "quantity": 4, "unitPrice": "37.50", "vatRate": 8},
            {"description": "Książki", "quantity": 3, "unitPrice": "19.99", "vatRate": 5},
        ],
        "currency": "PLN",
        "issueDate": "2025-10-01",
    }
    return InvoiceRequest.model_validate(base | changes)


def render(invoice: InvoiceRequest, number: str = "FV/2025/10/001") -> bytes:
    return render_fa3(invoice, invoice_number=number, created_at=CREATED)


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def assert_conformant(xml: bytes) -> None:
    assert fa3_gate().check(xml) == []
    validate_fa3_xml_xsd(xml)  # ksef-client's own validation of the same schema agrees


# --- valid documents, each through the official FA(3) XSD ---


def test_domestic_invoice_with_23_8_and_5() -> None:
    xml = render(pl_invoice())
    root = tree(xml)
    assert root.tag == f"{{{NS_FA3}}}Faktura"
    header = find(root, "fa:Naglowek")
    kod = find(header, "fa:KodFormularza")
    assert (kod.text, kod.get("kodSystemowy"), kod.get("wersjaSchemy")) == ("FA", "FA (3)", "1-0E")
    assert text(header, "fa:WariantFormularza") == "3"
    assert text(header, "fa:DataWytworzeniaFa") == "2025-10-01T09:30:15Z"
    assert text(header, "fa:SystemInfo") == "Clearway"
    assert_texts(
        root,
        {
            "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP": "5261040828",
            "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:NIP": "7740001454",
            "fa:Podmiot1/fa:Adres/fa:AdresL1": "ul. Marszałkowska 10/12",
            "fa:Podmiot1/fa:Adres/fa:AdresL2": "00-590 Warszawa",
            "fa:Podmiot1/fa:DaneKontaktowe/fa:Telefon": "+48221234567",
        },
    )
    assert (text(root, "fa:Podmiot2/fa:JST"), text(root, "fa:Podmiot2/fa:GV")) == ("2", "2")
    fa = find(root, "fa:Fa")
    assert text(fa, "fa:KodWaluty") == "PLN"
    assert text(fa, "fa:P_1") == "2025-10-01"
    assert text(fa, "fa:P_2") == "FV/2025/10/001"
    assert (text(fa, "fa:P_13_1"), text(fa, "fa:P_14_1")) == ("1500.00", "345.00")
    assert (text(fa, "fa:P_13_2"), text(fa, "fa:P_14_2")) == ("150.00", "12.00")
    assert (text(fa, "fa:P_13_3"), text(fa, "fa:P_14_3")) == ("59.97", "3.00")
    assert text(fa, "fa:P_15") == "2069.97"
    assert text(fa, "fa:RodzajFaktury") == "VAT"
    assert texts(fa, "fa:FaWiersz/fa:P_12") == ["23", "8", "5"]
    assert texts(fa, "fa:FaWiersz/fa:NrWierszaFa") == ["1", "2", "3"]
    assert_conformant(xml)


def test_annotations_default_to_no() -> None:
    annotations = find(tree(render(pl_invoice())), "fa:Fa/fa:Adnotacje")
    assert local_names(annotations) == [
        "P_16",
        "P_17",
        "P_18",
        "P_18A",
        "Zwolnienie",
        "NoweSrodkiTransportu",
        "P_23",
        "PMarzy",
    ]
    assert [
        text(annotations, f"fa:{name}") for name in ("P_16", "P_17", "P_18", "P_18A", "P_23")
    ] == ["2"] * 5
    assert text(annotations, "fa:Zwolnienie/fa:P_19N") == "1"
    assert text(annotations, "fa:NoweSrodkiTransportu/fa:P_22N") == "1"
    assert text(annotations, "fa:PMarzy/fa:P_PMarzyN") == "1"


def test_credit_note_is_a_correction_with_negative_differences() -> None:
    invoice = pl_invoice(
        invoiceType="credit_note",
        precedingInvoice={"number": "FV/2025/09/017", "issueDate": "2025-09-15"},
        lines=[
            {"description": "Zwrot towaru", "quantity": 2, "unitPrice": 100, "vatRate": 23},
            {
                "description": "Rabat",
                "quantity": 1,
                "unitPrice": "10.00",
                "discount": 2,
                "vatRate": 8,
            },
        ],
    )
    xml = render(invoice, "FK/2025/10/001")
    fa = find(tree(xml), "fa:Fa")
    assert_texts(
        fa,
        {
            "fa:RodzajFaktury": "KOR",
            "fa:DaneFaKorygowanej/fa:DataWystFaKorygowanej": "2025-09-15",
            "fa:DaneFaKorygowanej/fa:NrFaKorygowanej": "FV/2025/09/017",
            "fa:DaneFaKorygowanej/fa:NrKSeFN": "1",
        },
    )
    assert (text(fa, "fa:P_13_1"), text(fa, "fa:P_14_1")) == ("-200.00", "-46.00")
    assert (text(fa, "fa:P_13_2"), text(fa, "fa:P_14_2")) == ("-8.00", "-0.64")
    assert text(fa, "fa:P_15") == "-254.64"
    assert texts(fa, "fa:FaWiersz/fa:P_8B") == ["-2", "-1"]
    assert texts(fa, "fa:FaWiersz/fa:P_9A") == ["100", "10"]
    assert texts(fa, "fa:FaWiersz/fa:P_10") == ["-2.00"]
    assert texts(fa, "fa:FaWiersz/fa:P_11") == ["-200.00", "-8.00"]
    assert_conformant(xml)


def test_debit_note_is_a_correction_with_positive_differences() -> None:
    invoice = pl_invoice(
        invoiceType="debit_note",
        precedingInvoice={"number": "FV/2025/09/017", "issueDate": "2025-09-15"},
    )
    xml = render(invoice)
    fa = find(tree(xml), "fa:Fa")
    assert text(fa, "fa:RodzajFaktury") == "KOR"
    assert text(fa, "fa:P_15") == "2069.97"
    assert_conformant(xml)


def test_eu_buyer_is_identified_by_eu_vat_number() -> None:
    invoice = pl_invoice(
        customer=EU_CUSTOMER,
        lines=[
            {
                "description": "Dostawa maszyn",
                "quantity": 1,
                "unitPrice": 5000,
                "vatRate": 0,
                "vatCategory": "K",
                "vatExemptionReasonCode": "VATEX-EU-IC",
            },
            {
                "description": "Usługa serwisowa",
                "quantity": 1,
                "unitPrice": 800,
                "vatRate": 0,
                "vatCategory": "AE",
            },
        ],
        currency="EUR",
    )
    xml = render(invoice)
    root = tree(xml)
    buyer = find(root, "fa:Podmiot2/fa:DaneIdentyfikacyjne")
    assert local_names(buyer) == ["KodUE", "NrVatUE", "Nazwa"]
    assert (text(buyer, "fa:KodUE"), text(buyer, "fa:NrVatUE")) == ("DE", "123456789")
    assert text(root, "fa:Podmiot1/fa:PrefiksPodatnika") == "PL"
    assert texts(root, "fa:Fa/fa:FaWiersz/fa:P_12") == ["0 WDT", "np II"]
    assert text(root, "fa:Fa/fa:P_13_6_2") == "5000.00"
    assert text(root, "fa:Fa/fa:P_13_9") == "800.00"
    assert text(root, "fa:Fa/fa:Adnotacje/fa:P_18") == "1"  # reverse charge
    assert text(root, "fa:Fa/fa:KodWaluty") == "EUR"
    assert_conformant(xml)


def test_greek_buyer_uses_el() -> None:
    buyer = {
        "vatNumber": "094259216",
        "name": "Etaireia AE",
        "address": {"city": "Athina", "country": "GR"},
    }
    xml = render(pl_invoice(customer=buyer))
    assert text(tree(xml), "fa:Podmiot2/fa:DaneIdentyfikacyjne/fa:KodUE") == "EL"
    assert_conformant(xml)


def test_non_eu_buyer_is_identified_by_country_and_tax_id() -> None:
    buyer = {
        "vatNumber": "CHE-123.456.788 MWST",
        "name": "Kunde AG",
        "address": {
            "street": "Bahnhofstrasse 1",
            "city": "Zürich",
            "postalCode": "8001",
            "country": "CH",
        },
    }
    lines = [
        {
            "description": "Eksport towarów",
            "quantity": 2,
            "unitPrice": 300,
            "vatRate": 0,
            "vatCategory": "G",
        },
        {
            "description": "Usługa poza UE",
            "quantity": 1,
            "unitPrice": 50,
            "vatRate": 0,
            "vatCategory": "O",
        },
    ]
    xml = render(pl_invoice(customer=buyer, lines=lines, currency="CHF"))
    root = tree(xml)
    buyer_id = find(root, "fa:Podmiot2/fa:DaneIdentyfikacyjne")
    assert local_names(buyer_id) == ["KodKraju", "NrID", "Nazwa"]
    assert text(buyer_id, "fa:KodKraju") == "CH"
    assert text(buyer_id, "fa:NrID") == "CHE-123.456.788 MWST"
    assert texts(root, "fa:Fa/fa:FaWiersz/fa:P_12") == ["0 EX", "np I"]
    assert text(root, "fa:Fa/fa:P_13_6_3") == "600.00"
    assert text(root, "fa:Fa/fa:P_13_8") == "50.00"
    assert_conformant(xml)


def test_exempt_and_domestic_reverse_charge_and_zero_rate() -> None:
    lines = [
        {
            "description": "Usługa szkoleniowa",
            "quantity": 1,
            "unitPrice": 1000,
            "vatRate": 0,
            "vatCategory": "E",
            "vatExemptionReason": "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT",
        },
        {
            "description": "Złom",
            "quantity": 100,
            "unitPrice": "1.20",
            "vatRate": 0,
            "vatCategory": "AE",
        },
        {
            "description": "Usługa 0%",
            "quantity": 1,
            "unitPrice": 10,
            "vatRate": 0,
            "vatCategory": "Z",
        },
    ]
    xml = render(pl_invoice(lines=lines))
    fa = find(tree(xml), "fa:Fa")
    assert texts(fa, "fa:FaWiersz/fa:P_12") == ["zw", "oo", "0 KR"]
    assert text(fa, "fa:P_13_7") == "1000.00"
    assert text(fa, "fa:P_13_10") == "120.00"
    assert text(fa, "fa:P_13_6_1") == "10.00"
    assert fa.find("fa:P_14_1", NS) is None
    assert text(fa, "fa:P_15") == "1130.00"
    assert text(fa, "fa:Adnotacje/fa:Zwolnienie/fa:P_19") == "1"
    assert (
        text(fa, "fa:Adnotacje/fa:Zwolnienie/fa:P_19A")
        == "art. 43 ust. 1 pkt 29 lit. c ustawy o VAT"
    )
    assert text(fa, "fa:Adnotacje/fa:P_18") == "1"
    assert_conformant(xml)


def test_discount_payment_item_code_and_note() -> None:
    invoice = pl_invoice(
        lines=[
            {
                "description": "Monitor",
                "quantity": 3,
                "unitPrice": "899.99",
                "discount": "50",
                "vatRate": 23,
                "itemCode": "MON-27",
                "unitCode": "H87",
            }
        ],
        paymentMeans={
            "bankAccount": "PL61 1090 1014 0000 0712 1981 2874",
            "bic": "WBKPPLPP",
            "dueDate": "2025-10-15",
        },
        note="Dziękujemy za zakupy.",
    )
    xml = render(invoice)
    root = tree(xml)
    row = find(root, "fa:Fa/fa:FaWiersz")
    assert local_names(row) == [
        "NrWierszaFa",
        "P_7",
        "Indeks",
        "P_8A",
        "P_8B",
        "P_9A",
        "P_10",
        "P_11",
        "P_12",
    ]
    assert_texts(
        row,
        {
            "fa:P_8A": "szt.",
            "fa:P_9A": "899.99",
            "fa:P_10": "150.00",
            "fa:P_11": "2549.97",
        },
    )
    payment = find(root, "fa:Fa/fa:Platnosc")
    assert local_names(payment) == ["TerminPlatnosci", "FormaPlatnosci", "RachunekBankowy"]
    assert_texts(
        payment,
        {
            "fa:TerminPlatnosci/fa:Termin": "2025-10-15",
            "fa:FormaPlatnosci": "6",
            "fa:RachunekBankowy/fa:NrRB": "PL61109010140000071219812874",
            "fa:RachunekBankowy/fa:SWIFT": "WBKPPLPP",
        },
    )
    assert text(root, "fa:Stopka/fa:Informacje/fa:StopkaFaktury") == "Dziękujemy za zakupy."
    assert_conformant(xml)


def test_long_note_fills_footer_blocks() -> None:
    xml = render(pl_invoice(note="n" * 5000))
    assert [len(part) for part in texts(tree(xml), "fa:Stopka/fa:Informacje/fa:StopkaFaktury")] == [
        3500,
        1500,
    ]
    assert_conformant(xml)


def test_creation_time_defaults_to_now() -> None:
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)
    xml = render_fa3(pl_invoice(), invoice_number="FV/1")
    stamp = text(tree(xml), "fa:Naglowek/fa:DataWytworzeniaFa")
    created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S%z")
    assert before <= created <= dt.datetime.now(dt.UTC)
    assert_conformant(xml)


# --- element order (the schema's sequences) ---


def test_element_order() -> None:
    invoice = pl_invoice(
        invoiceType="credit_note",
        precedingInvoice={"number": "FV/1", "issueDate": "2025-09-01"},
        paymentMeans={"bankAccount": "PL61109010140000071219812874"},
        note="Korekta",
    )
    root = tree(render(invoice))
    assert local_names(root) == ["Naglowek", "Podmiot1", "Podmiot2", "Fa", "Stopka"]
    assert local_names(find(root, "fa:Naglowek")) == [
        "KodFormularza",
        "WariantFormularza",
        "DataWytworzeniaFa",
        "SystemInfo",
    ]
    assert local_names(find(root, "fa:Podmiot1")) == [
        "DaneIdentyfikacyjne",
        "Adres",
        "DaneKontaktowe",
    ]
    assert local_names(find(root, "fa:Podmiot2")) == ["DaneIdentyfikacyjne", "Adres", "JST", "GV"]
    assert local_names(find(root, "fa:Fa")) == [
        "KodWaluty",
        "P_1",
        "P_2",
        "P_13_1",
        "P_14_1",
        "P_13_2",
        "P_14_2",
        "P_13_3",
        "P_14_3",
        "P_15",
        "Adnotacje",
        "RodzajFaktury",
        "DaneFaKorygowanej",
        "FaWiersz",
        "FaWiersz",
        "FaWiersz",
        "Platnosc",
    ]
    assert local_names(find(root, "fa:Fa/fa:DaneFaKorygowanej")) == [
        "DataWystFaKorygowanej",
        "NrFaKorygowanej",
        "NrKSeFN",
    ]


# --- negative cases: the gate names the problem ---


def test_bad_rate_code_is_named() -> None:
    lines = [{"description": "Towar", "quantity": 1, "unitPrice": 100, "vatRate": 19}]
    findings = fa3_gate().check(render(pl_invoice(lines=lines)))
    assert len(findings) == 1, findings
    finding = findings[0]
    assert finding.rule_id == FA3_RULE_ID
    assert finding.flag == "fatal"
    assert finding.location == "/Faktura/Fa/FaWiersz/P_12"
    assert "P_12" in finding.text
    assert "'19'" in finding.text
    assert "'23'" in finding.text  # the message lists the codes the schema allows


def test_missing_required_element_is_named() -> None:
    xml = tampered(render(pl_invoice()), "fa:Fa/fa:P_2", None)
    findings = fa3_gate().check(xml)
    assert rule_ids(findings) == {FA3_RULE_ID}
    assert any("P_2" in finding.text for finding in findings), findings
    assert findings[0].location.startswith("/Faktura/Fa")


def test_missing_seller_address_is_named() -> None:
    findings = fa3_gate().check(render(pl_invoice(supplier=SUPPLIER | {"address": None})))
    assert any("Adres" in finding.text for finding in findings), findings


def test_correction_without_the_corrected_invoice_date_is_named() -> None:
    invoice = pl_invoice(invoiceType="credit_note", precedingInvoice={"number": "FV/2025/09/017"})
    findings = fa3_gate().check(render(invoice))
    assert any("DataWystFaKorygowanej" in finding.text for finding in findings), findings


def test_exemption_without_legal_basis_is_named() -> None:
    lines = [{"description": "Usługa", "unitPrice": 10, "vatRate": 0, "vatCategory": "E"}]
    findings = fa3_gate().check(render(pl_invoice(lines=lines)))
    assert findings
    assert findings[0].location == "/Faktura/Fa/Adnotacje/Zwolnienie"


def test_bad_nip_is_named() -> None:
    findings = fa3_gate().check(render(pl_invoice(customer=CUSTOMER | {"vatNumber": "PL0123"})))
    assert any("NIP" in finding.text and "'0123'" in finding.text for finding in findings)


def test_creation_before_fa3_was_in_force_is_named() -> None:
    xml = render_fa3(
        pl_invoice(), invoice_number="FV/1", created_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )
    findings = fa3_gate().check(xml)
    assert [finding.location for finding in findings] == ["/Faktura/Naglowek/DataWytworzeniaFa"]


def test_document_with_a_dtd_is_refused() -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE x SYSTEM "http://example.com/x.dtd"><x/>'
    with pytest.raises(UnreadableDocumentError):
        fa3_gate().check(xml)


# --- the gate itself ---


def test_gate_is_compiled_once_per_process() -> None:
    assert fa3_gate() is fa3_gate()


def test_remote_imports_are_answered_from_the_shipped_files() -> None:
    files = shipped_schemas(FA3_PACKAGE, FA3_SCHEMA_DIR)
    assert set(files) == {
        FA3_MAIN_SCHEMA,
        "StrukturyDanych_v10-0E.xsd",
        "ElementarneTypyDanych_v10-0E.xsd",
        "KodyKrajow_v10-0E.xsd",
    }
    assert b'schemaLocation="http://crd.gov.pl/' in files[FA3_MAIN_SCHEMA]
    without_codes = {name: content for name, content in files.items() if "KodyKrajow" not in name}
    with pytest.raises(SchemaResolutionError, match="KodyKrajow"):
        XsdGate(without_codes, FA3_MAIN_SCHEMA, rule_id=FA3_RULE_ID)


# --- helpers ---


@pytest.mark.parametrize(
    ("vat", "nip"),
    [
        ("PL5261040828", "5261040828"),
        ("526-104-08-28", "5261040828"),
        ("PL 526 104 08 28", "5261040828"),
    ],
)
def test_nip_digits(vat: str, nip: str) -> None:
    assert nip_digits(vat) == nip


def test_sums_match_the_lines() -> None:
    root = tree(render(pl_invoice()))
    fa = find(root, "fa:Fa")
    nets = sum(Decimal(value) for value in texts(fa, "fa:FaWiersz/fa:P_11"))
    sums = sum(Decimal(text(fa, f"fa:P_13_{n}")) for n in (1, 2, 3))
    vat = sum(Decimal(text(fa, f"fa:P_14_{n}")) for n in (1, 2, 3))
    assert nets == sums
    assert Decimal(text(fa, "fa:P_15")) == sums + vat
