from decimal import Decimal
from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.formats.conformance import UnreadableDocumentError
from clearway.formats.xsd_gate import (
    FATTURAPA_MAIN_SCHEMA,
    FATTURAPA_PACKAGE,
    FATTURAPA_RULE_ID,
    FATTURAPA_SCHEMA_DIR,
    SchemaResolutionError,
    XsdGate,
    fatturapa_gate,
    shipped_schemas,
)
from clearway.governments.it.document import (
    NS_FATTURAPA,
    fatturapa_filename,
    render_fatturapa,
    sdi_recipient,
)
from lxml import etree

from tests.libs.formats.support import assert_texts, rule_ids, tampered, text, texts
from tests.libs.formats.support import names as local_names

SUPPLIER = {
    "vatNumber": "IT01234567890",
    "name": "Alfa Servizi S.r.l.",
    "fiscalCode": "01234567890",
    "address": {
        "street": "Via Roma 1",
        "city": "Milano",
        "postalCode": "20121",
        "country": "IT",
        "stateOrProvince": "MI",
    },
}
CUSTOMER = {
    "vatNumber": "IT09876543210",
    "name": "Beta Commercio S.p.A.",
    "sdiCode": "M5UXCR1",
    "address": {
        "street": "Corso Francia 20",
        "city": "Torino",
        "postalCode": "10143",
        "country": "IT",
        "stateOrProvince": "TO",
    },
}


def it_invoice(**changes: Any) -> InvoiceRequest:
    base: dict[str, Any] = {
        "country": "IT",
        "supplier": SUPPLIER,
        "customer": CUSTOMER,
        "lines": [
            {
                "description": "Consulenza informatica",
                "quantity": 10,
                "unitPrice": 80,
                "vatRate": 22,
            }
        ],
        "currency": "EUR",
        "issueDate": "2025-06-30",
    }
    return InvoiceRequest.model_validate(base | changes)


def customer(**changes: Any) -> dict[str, Any]:
    return CUSTOMER | changes


def render(invoice: InvoiceRequest, number: str = "FT-2025/001") -> bytes:
    return render_fatturapa(invoice, invoice_number=number, progressivo="00001")


def tree(xml: bytes) -> etree._Element:
    return etree.fromstring(xml)


def assert_conformant(xml: bytes) -> None:
    assert fatturapa_gate().check(xml) == []


HEADER = "FatturaElettronicaHeader"
BODY = "FatturaElettronicaBody"
DOCUMENT = f"{BODY}/DatiGenerali/DatiGeneraliDocumento"
TRANSMISSION = f"{HEADER}/DatiTrasmissione"
LINES = f"{BODY}/DatiBeniServizi/DettaglioLinee"
SUMMARIES = f"{BODY}/DatiBeniServizi/DatiRiepilogo"


# --- valid documents, each through the official XSD and the SDI checks ---


def test_b2b_with_sdi_code_is_fpr12() -> None:
    xml = render(it_invoice())
    root = tree(xml)
    assert root.tag == f"{{{NS_FATTURAPA}}}FatturaElettronica"
    assert root.get("versione") == "FPR12"
    assert text(root, f"{TRANSMISSION}/FormatoTrasmissione") == "FPR12"
    assert text(root, f"{TRANSMISSION}/CodiceDestinatario") == "M5UXCR1"
    assert root.find(f"{TRANSMISSION}/PECDestinatario") is None
    assert_texts(
        root,
        {
            f"{TRANSMISSION}/IdTrasmittente/IdPaese": "IT",
            f"{TRANSMISSION}/IdTrasmittente/IdCodice": "01234567890",
            f"{TRANSMISSION}/ProgressivoInvio": "00001",
            f"{DOCUMENT}/TipoDocumento": "TD01",
            f"{DOCUMENT}/ImportoTotaleDocumento": "976.00",
        },
    )
    assert_conformant(xml)


def test_children_are_unqualified_only_the_root_is_namespaced() -> None:
    root = tree(render(it_invoice()))
    assert all(etree.QName(element).namespace is None for element in root.iterdescendants())


@pytest.mark.parametrize(
    ("buyer", "version", "recipient", "pec"),
    [
        pytest.param(
            {"sdiCode": None, "pec": "beta@pec.beta.it"},
            "FPR12",
            "0000000",
            "beta@pec.beta.it",
            id="buyer_with_pec_and_no_sdi_code",
        ),
        pytest.param(
            {"sdiCode": None}, "FPR12", "0000000", None, id="buyer_without_channel_no_pec"
        ),
        pytest.param(
            {"sdiCode": "UFY9MH", "name": "Comune di Torino"},
            "FPA12",
            "UFY9MH",
            None,
            id="public_administration_with_six_character_code_is_fpa12",
        ),
    ],
)
def test_the_buyers_channel_sets_the_recipient_code_the_pec_and_the_version(
    buyer: dict[str, Any], version: str, recipient: str, pec: str | None
) -> None:
    """A PEC without an SDI code, or no channel at all, is CodiceDestinatario 0000000 (with the
    PEC if there is one); a public administration's six-character code makes the file FPA12."""
    xml = render(it_invoice(customer=customer(**buyer)))
    root = tree(xml)
    assert root.get("versione") == version
    assert text(root, f"{TRANSMISSION}/FormatoTrasmissione") == version
    assert text(root, f"{TRANSMISSION}/CodiceDestinatario") == recipient
    if pec is None:
        assert root.find(f"{TRANSMISSION}/PECDestinatario") is None
    else:
        assert text(root, f"{TRANSMISSION}/PECDestinatario") == pec
    assert_conformant(xml)


def test_foreign_buyer_gets_xxxxxxx_and_foreign_postal_code() -> None:
    buyer = {
        "vatNumber": "DE123456789",
        "name": "Kunde GmbH",
        "address": {
            "street": "Hauptstrasse 5",
            "city": "Berlin",
            "postalCode": "10115-A",
            "country": "DE",
        },
    }
    lines = [
        {
            "description": "Servizio intracomunitario",
            "quantity": 1,
            "unitPrice": 1000,
            "vatRate": 0,
            "vatCategory": "AE",
            "natura": "N2.1",
            "vatExemptionReason": "Art. 7-ter DPR 633/72",
        }
    ]
    xml = render(it_invoice(customer=buyer, lines=lines))
    root = tree(xml)
    assert root.get("versione") == "FPR12"
    assert text(root, f"{TRANSMISSION}/CodiceDestinatario") == "XXXXXXX"
    buyer_data = f"{HEADER}/CessionarioCommittente"
    assert text(root, f"{buyer_data}/DatiAnagrafici/IdFiscaleIVA/IdPaese") == "DE"
    assert text(root, f"{buyer_data}/DatiAnagrafici/IdFiscaleIVA/IdCodice") == "123456789"
    assert text(root, f"{buyer_data}/Sede/CAP") == "00000"
    assert root.find(f"{buyer_data}/Sede/Provincia") is None
    assert_conformant(xml)


def test_credit_note_is_td04_and_links_the_invoice_it_corrects() -> None:
    invoice = it_invoice(
        invoiceType="credit_note",
        precedingInvoice={"number": "FT-2025/000", "issueDate": "2025-06-01"},
        note="Storno parziale per reso merce",
    )
    xml = render(invoice, "NC-2025/001")
    root = tree(xml)
    assert text(root, f"{DOCUMENT}/TipoDocumento") == "TD04"
    assert text(root, f"{DOCUMENT}/Causale") == "Storno parziale per reso merce"
    linked = f"{BODY}/DatiGenerali/DatiFattureCollegate"
    assert text(root, f"{linked}/IdDocumento") == "FT-2025/000"
    assert text(root, f"{linked}/Data") == "2025-06-01"
    # Amounts stay positive: TD04 itself says the document credits.
    assert text(root, f"{DOCUMENT}/ImportoTotaleDocumento") == "976.00"
    assert_conformant(xml)


def test_debit_note_is_td05() -> None:
    invoice = it_invoice(invoiceType="debit_note", precedingInvoice={"number": "FT-2025/000"})
    xml = render(invoice)
    root = tree(xml)
    assert text(root, f"{DOCUMENT}/TipoDocumento") == "TD05"
    assert root.find(f"{BODY}/DatiGenerali/DatiFattureCollegate/Data") is None
    assert_conformant(xml)


def test_several_rates_have_one_summary_each() -> None:
    lines = [
        {"description": "Software", "quantity": 1, "unitPrice": "1000", "vatRate": 22},
        {"description": "Ristorazione", "quantity": 3, "unitPrice": "33.33", "vatRate": 10},
        {"description": "Libri", "quantity": 2, "unitPrice": "12.50", "vatRate": 4},
        {"description": "Licenza", "quantity": 1, "unitPrice": "99.99", "vatRate": 22},
    ]
    xml = render(it_invoice(lines=lines))
    root = tree(xml)
    assert texts(root, f"{SUMMARIES}/AliquotaIVA") == ["22.00", "10.00", "4.00"]
    assert texts(root, f"{SUMMARIES}/ImponibileImporto") == ["1099.99", "99.99", "25.00"]
    assert texts(root, f"{SUMMARIES}/Imposta") == ["242.00", "10.00", "1.00"]
    assert texts(root, f"{SUMMARIES}/EsigibilitaIVA") == ["I", "I", "I"]
    assert text(root, f"{DOCUMENT}/ImportoTotaleDocumento") == "1477.98"
    assert_conformant(xml)


def test_zero_rate_line_carries_natura_and_legal_reference() -> None:
    lines = [
        {"description": "Servizio", "quantity": 1, "unitPrice": 100, "vatRate": 22},
        {
            "description": "Prestazione non soggetta",
            "quantity": 1,
            "unitPrice": 250,
            "vatRate": 0,
            "vatCategory": "O",
            "natura": "N2.1",
            "vatExemptionReason": "Non soggetta art. 7-ter DPR 633/72",
        },
    ]
    xml = render(it_invoice(lines=lines))
    root = tree(xml)
    exempt_line = root.findall(LINES)[1]
    assert text(exempt_line, "AliquotaIVA") == "0.00"
    assert text(exempt_line, "Natura") == "N2.1"
    assert root.findall(LINES)[0].find("Natura") is None
    exempt_summary = root.findall(SUMMARIES)[1]
    assert local_names(exempt_summary) == [
        "AliquotaIVA",
        "Natura",
        "ImponibileImporto",
        "Imposta",
        "EsigibilitaIVA",
        "RiferimentoNormativo",
    ]
    assert text(exempt_summary, "RiferimentoNormativo") == "Non soggetta art. 7-ter DPR 633/72"
    assert_conformant(xml)


def test_natura_derived_from_an_unambiguous_category() -> None:
    lines = [
        {
            "description": "Esportazione",
            "quantity": 1,
            "unitPrice": 100,
            "vatRate": 0,
            "vatCategory": "G",
            "vatExemptionReason": "Art. 8 DPR 633/72",
        }
    ]
    xml = render(it_invoice(lines=lines))
    assert texts(tree(xml), f"{LINES}/Natura") == ["N3.1"]
    assert_conformant(xml)


def test_discount_per_unit() -> None:
    lines = [
        {
            "description": "Monitor",
            "quantity": 3,
            "unitPrice": "199.90",
            "discount": "19.99",
            "vatRate": 22,
        }
    ]
    xml = render(it_invoice(lines=lines))
    line = tree(xml).findall(LINES)[0]
    assert text(line, "PrezzoUnitario") == "199.90"
    assert text(line, "ScontoMaggiorazione/Tipo") == "SC"
    assert text(line, "ScontoMaggiorazione/Importo") == "19.99"
    assert text(line, "PrezzoTotale") == "539.73"  # 3 x (199.90 - 19.99)
    assert_conformant(xml)


def test_negative_line_moves_its_sign_to_the_price() -> None:
    lines = [
        {"description": "Vendita", "quantity": 5, "unitPrice": 20, "vatRate": 22},
        {"description": "Reso", "quantity": -2, "unitPrice": 20, "discount": 5, "vatRate": 22},
    ]
    xml = render(it_invoice(lines=lines))
    line = tree(xml).findall(LINES)[1]
    assert_texts(
        line,
        {
            "Quantita": "2.00",
            "PrezzoUnitario": "-20.00",
            "ScontoMaggiorazione/Tipo": "MG",
            "ScontoMaggiorazione/Importo": "5.00",
        },
    )
    assert text(line, "PrezzoTotale") == "-30.00"  # 2 x (-20.00 + 5.00)
    assert texts(tree(xml), f"{SUMMARIES}/ImponibileImporto") == ["70.00"]
    assert_conformant(xml)


def test_prices_and_quantities_keep_up_to_eight_decimals_and_at_least_two() -> None:
    lines = [
        {"description": "Energia", "quantity": "1234.125", "unitPrice": "0.123456", "vatRate": 10}
    ]
    xml = render(it_invoice(lines=lines))
    line = tree(xml).findall(LINES)[0]
    assert text(line, "Quantita") == "1234.125"
    assert text(line, "PrezzoUnitario") == "0.123456"
    assert text(line, "PrezzoTotale") == "152.36"
    assert_conformant(xml)


def test_attachment_and_payment() -> None:
    invoice = it_invoice(
        paymentMeans={
            "bankAccount": "IT60 X054 2811 1010 0000 0123 456",
            "bic": "BPMOIT22XXX",
            "dueDate": "2025-07-31",
        },
        attachments=[
            {"filename": "ddt-118.pdf", "content": "JVBERi0xLjQK", "mimeType": "application/pdf"}
        ],
    )
    xml = render(invoice)
    root = tree(xml)
    payment = f"{BODY}/DatiPagamento"
    assert text(root, f"{payment}/CondizioniPagamento") == "TP02"
    assert local_names(root.find(f"{payment}/DettaglioPagamento")) == [  # type: ignore[arg-type]
        "ModalitaPagamento",
        "DataScadenzaPagamento",
        "ImportoPagamento",
        "IBAN",
        "BIC",
    ]
    assert_texts(
        root,
        {
            f"{payment}/DettaglioPagamento/ModalitaPagamento": "MP05",
            f"{payment}/DettaglioPagamento/IBAN": "IT60X0542811101000000123456",
            f"{payment}/DettaglioPagamento/ImportoPagamento": "976.00",
            f"{BODY}/Allegati/NomeAttachment": "ddt-118.pdf",
            f"{BODY}/Allegati/FormatoAttachment": "PDF",
            f"{BODY}/Allegati/Attachment": "JVBERi0xLjQK",
        },
    )
    assert_conformant(xml)


def test_long_or_non_latin_attachment_name_is_shortened_keeping_its_extension() -> None:
    name = (
        "Verbale di consegna n. 118 \u2013 lotto 2025 firmato dal cliente finale e dal vettore.pdf"
    )
    invoice = it_invoice(
        attachments=[{"filename": name, "content": "JVBERi0xLjQK", "mimeType": "application/pdf"}]
    )
    xml = render(invoice)
    stored = text(tree(xml), f"{BODY}/Allegati/NomeAttachment")
    assert len(stored) == 60
    assert stored.endswith(".pdf")
    assert "\u2013" not in stored
    assert_conformant(xml)


def test_long_note_is_split_into_causali_of_200_characters() -> None:
    xml = render(it_invoice(note="x" * 450))
    assert [len(part) for part in texts(tree(xml), f"{DOCUMENT}/Causale")] == [200, 200, 50]
    assert_conformant(xml)


def test_item_code_and_purchase_order() -> None:
    lines = [
        {"description": "Cavo", "quantity": 5, "unitPrice": 2, "vatRate": 22, "itemCode": "CV-01"}
    ]
    xml = render(it_invoice(lines=lines, purchaseOrderReference="PO-7781"))
    root = tree(xml)
    assert text(root, f"{LINES}/CodiceArticolo/CodiceValore") == "CV-01"
    assert text(root, f"{BODY}/DatiGenerali/DatiOrdineAcquisto/IdDocumento") == "PO-7781"
    assert_conformant(xml)


# --- element order (the schema's sequences) ---


def test_element_order() -> None:
    invoice = it_invoice(
        invoiceType="credit_note",
        precedingInvoice={"number": "FT-1", "issueDate": "2025-06-01"},
        note="Reso",
        purchaseOrderReference="PO-1",
        paymentMeans={"bankAccount": "IT60X0542811101000000123456"},
        attachments=[{"filename": "a.csv", "content": "YSxiCg==", "mimeType": "text/csv"}],
        lines=[
            {
                "description": "Articolo",
                "quantity": 2,
                "unitPrice": 10,
                "discount": 1,
                "vatRate": 0,
                "natura": "N4",
                "itemCode": "A1",
                "vatExemptionReason": "Art. 10 DPR 633/72",
            }
        ],
    )
    root = tree(render(invoice))
    assert local_names(root) == [HEADER, BODY]
    assert local_names(root.find(HEADER)) == [  # type: ignore[arg-type]
        "DatiTrasmissione",
        "CedentePrestatore",
        "CessionarioCommittente",
    ]
    assert local_names(root.find(TRANSMISSION)) == [  # type: ignore[arg-type]
        "IdTrasmittente",
        "ProgressivoInvio",
        "FormatoTrasmissione",
        "CodiceDestinatario",
    ]
    assert local_names(root.find(f"{HEADER}/CedentePrestatore/DatiAnagrafici")) == [  # type: ignore[arg-type]
        "IdFiscaleIVA",
        "CodiceFiscale",
        "Anagrafica",
        "RegimeFiscale",
    ]
    assert local_names(root.find(f"{HEADER}/CedentePrestatore/Sede")) == [  # type: ignore[arg-type]
        "Indirizzo",
        "CAP",
        "Comune",
        "Provincia",
        "Nazione",
    ]
    assert local_names(root.find(BODY)) == [  # type: ignore[arg-type]
        "DatiGenerali",
        "DatiBeniServizi",
        "DatiPagamento",
        "Allegati",
    ]
    assert local_names(root.find(f"{BODY}/DatiGenerali")) == [  # type: ignore[arg-type]
        "DatiGeneraliDocumento",
        "DatiOrdineAcquisto",
        "DatiFattureCollegate",
    ]
    assert local_names(root.find(DOCUMENT)) == [  # type: ignore[arg-type]
        "TipoDocumento",
        "Divisa",
        "Data",
        "Numero",
        "ImportoTotaleDocumento",
        "Causale",
    ]
    assert local_names(root.find(LINES)) == [  # type: ignore[arg-type]
        "NumeroLinea",
        "CodiceArticolo",
        "Descrizione",
        "Quantita",
        "UnitaMisura",
        "PrezzoUnitario",
        "ScontoMaggiorazione",
        "PrezzoTotale",
        "AliquotaIVA",
        "Natura",
    ]


# --- negative cases: the gate names the problem ---


def test_missing_required_element_is_named() -> None:
    xml = tampered(render(it_invoice()), f"{DOCUMENT}/Numero", None)
    findings = fatturapa_gate().check(xml)
    assert rule_ids(findings) == {FATTURAPA_RULE_ID}
    assert any("Numero" in finding.text for finding in findings), findings
    assert all(finding.flag == "fatal" for finding in findings)


def test_missing_seller_address_is_named() -> None:
    invoice = it_invoice(supplier=SUPPLIER | {"address": None})
    findings = fatturapa_gate().check(render(invoice))
    assert any("Sede" in finding.text for finding in findings), findings
    assert findings[0].location == "/FatturaElettronica/FatturaElettronicaHeader/CedentePrestatore"


def test_bad_rate_format_is_named() -> None:
    xml = tampered(render(it_invoice()), f"{LINES}/AliquotaIVA", "22")
    findings = fatturapa_gate().check(xml)
    assert len(findings) == 1, findings
    assert "AliquotaIVA" in findings[0].text
    assert "'22'" in findings[0].text
    assert findings[0].location.endswith("/DettaglioLinee/AliquotaIVA")


def test_unknown_natura_is_named() -> None:
    lines = [{"description": "X", "unitPrice": 1, "vatRate": 0, "natura": "N7.1"}]
    findings = fatturapa_gate().check(render(it_invoice(lines=lines)))
    assert findings
    assert all(finding.rule_id == FATTURAPA_RULE_ID for finding in findings)
    assert any("N7.1" in finding.text for finding in findings), findings


def test_zero_rate_without_natura_is_sdi_00400_and_00429() -> None:
    lines = [{"description": "X", "unitPrice": 1, "vatRate": 0, "vatCategory": "Z"}]
    findings = fatturapa_gate().check(render(it_invoice(lines=lines)))
    assert rule_ids(findings) == {"SDI-00400", "SDI-00429"}
    assert findings[0].location == (
        "/FatturaElettronica/FatturaElettronicaBody/DatiBeniServizi/DettaglioLinee"
    )


def test_natura_with_a_nonzero_rate_is_sdi_00401() -> None:
    root = tree(render(it_invoice()))
    line = root.find(LINES)
    assert line is not None
    etree.SubElement(line, "Natura").text = "N4"
    findings = fatturapa_gate().check(etree.tostring(root))
    assert rule_ids(findings) == {"SDI-00401"}


def test_pa_format_with_seven_character_code_is_sdi_00427() -> None:
    root = tree(render(it_invoice()))
    root.set("versione", "FPA12")
    formato = root.find(f"{TRANSMISSION}/FormatoTrasmissione")
    assert formato is not None
    formato.text = "FPA12"
    findings = fatturapa_gate().check(etree.tostring(root))
    assert rule_ids(findings) == {"SDI-00427"}
    assert "M5UXCR1" in findings[0].text


def test_format_differing_from_version_is_sdi_00428() -> None:
    xml = tampered(render(it_invoice()), f"{TRANSMISSION}/FormatoTrasmissione", "FPA12")
    assert "SDI-00428" in rule_ids(fatturapa_gate().check(xml))


def test_foreign_buyer_with_a_routing_code_is_sdi_00313() -> None:
    buyer = customer(vatNumber="FR12345678901")
    xml = tampered(
        render(it_invoice(customer=buyer)), f"{TRANSMISSION}/CodiceDestinatario", "M5UXCR1"
    )
    assert rule_ids(fatturapa_gate().check(xml)) == {"SDI-00313"}


def test_a_non_latin_1_name_is_folded_to_what_sdi_accepts() -> None:
    xml = render(it_invoice(customer=customer(name="Zakład Łódź Sp. z o.o.")))
    assert "Zaklad Lódz Sp. z o.o.".encode() in xml  # ó is Latin-1 and stays
    assert fatturapa_gate().check(xml) == []


def test_document_with_a_dtd_is_refused() -> None:
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    with pytest.raises(UnreadableDocumentError):
        fatturapa_gate().check(xml)


def test_malformed_document_is_refused() -> None:
    with pytest.raises(UnreadableDocumentError):
        fatturapa_gate().check(b"<p:FatturaElettronica")


# --- the gate itself ---


def test_gate_is_compiled_once_per_process() -> None:
    assert fatturapa_gate() is fatturapa_gate()


def test_schema_imports_are_answered_only_from_shipped_files() -> None:
    files = shipped_schemas(FATTURAPA_PACKAGE, FATTURAPA_SCHEMA_DIR)
    assert "xmldsig-core-schema.xsd" in files  # the W3C import, answered locally
    without_import = {name: content for name, content in files.items() if "xmldsig" not in name}
    with pytest.raises(SchemaResolutionError, match=r"imports http://www\.w3\.org/.*xmldsig"):
        XsdGate(without_import, FATTURAPA_MAIN_SCHEMA, rule_id=FATTURAPA_RULE_ID)


# --- helpers ---


def test_filename() -> None:
    assert fatturapa_filename("IT01234567890", "1") == "IT01234567890_00001.xml"
    assert fatturapa_filename("01234567890", "a9z") == "IT01234567890_00A9Z.xml"
    assert fatturapa_filename("IT 012 345 678 90", "00042") == "IT01234567890_00042.xml"


@pytest.mark.parametrize("progressivo", ["", "123456", "00-01", "ü"])
def test_filename_refuses_a_bad_progressivo(progressivo: str) -> None:
    with pytest.raises(ValueError, match="progressivo"):
        fatturapa_filename("IT01234567890", progressivo)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"sdiCode": "ABCDEF1"}, ("FPR12", "ABCDEF1", None)),
        ({"sdiCode": "abcdef"}, ("FPA12", "ABCDEF", None)),
        ({"sdiCode": None, "pec": "a@pec.it"}, ("FPR12", "0000000", "a@pec.it")),
        ({"sdiCode": "0000000", "pec": "a@pec.it"}, ("FPR12", "0000000", "a@pec.it")),
        ({"sdiCode": "ABCDEF1", "pec": "a@pec.it"}, ("FPR12", "ABCDEF1", None)),
        ({"vatNumber": "ATU12345678", "sdiCode": "ABCDEF1"}, ("FPR12", "XXXXXXX", None)),
    ],
)
def test_recipient(changes: dict[str, Any], expected: tuple[str, str, str | None]) -> None:
    invoice = it_invoice(customer=customer(**changes))
    recipient = sdi_recipient(invoice.customer)
    assert (recipient.format, recipient.code, recipient.pec) == expected


def test_totals_match_the_api_totals() -> None:
    lines = [
        {"description": "A", "quantity": "3", "unitPrice": "0.335", "vatRate": 22},
        {"description": "B", "quantity": "7", "unitPrice": "1.115", "vatRate": 22},
    ]
    root = tree(render(it_invoice(lines=lines)))
    taxable = sum(Decimal(value) for value in texts(root, f"{SUMMARIES}/ImponibileImporto"))
    tax = sum(Decimal(value) for value in texts(root, f"{SUMMARIES}/Imposta"))
    assert Decimal(text(root, f"{DOCUMENT}/ImportoTotaleDocumento")) == taxable + tax
