"""Italy, end to end: SDI delivers a purchase invoice to Clearway's channel (RiceviFatture on the
receiver's /networks/it/deliveries); it arrives once in Clearway as the same JSON POST
/v1/invoices takes, with the FatturaPA byte for byte and SDI's metadata file beside it; SDI
delivering it again adds nothing; a hostile document never stops the receiver; and the network
endpoint answers nothing to a caller without the network key."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from clearway.governments.it.signed import signed_content
from clearway.pipeline.reading import UNREADABLE_RULE
from lxml import etree

from services.govsim.it.purchases import SAMPLE_SUPPLIER_PIVA, sample_purchase_invoice
from services.stack.stack import SANDBOX_NETWORK_KEY, Stack
from tests.conftest import MakeAccount, data_of
from tests.services.connections_support import connect_it, new_company
from tests.services.receiver.receiving_support import new_partita_iva, received_list

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

CONTROL = "/_sim/it/purchase-invoices"
CHANNEL_CODE = "CLRWY01"  # the sandbox's SDI_CODICE_DESTINATARIO
SUPPLIER_VAT = f"IT{SAMPLE_SUPPLIER_PIVA}"
MESSAGGI_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"


def fattura(buyer_vat: str) -> bytes:
    """The simulator's sample FatturaPA (Clearway's renderer) to `buyer_vat` at Clearway's
    channel, numbered afresh: 2 x 500.00 and 1 x 100.00 at 22 %."""
    today = dt.datetime.now(dt.UTC).date()
    return sample_purchase_invoice(buyer_vat=buyer_vat, code=CHANNEL_CODE, issued=today)


async def receiving_company(make_account: MakeAccount) -> tuple[httpx.AsyncClient, str, str]:
    """A new account's IT company with an active connection that receives: its client, id and
    VAT number."""
    _, client = await make_account()
    vat = f"IT{new_partita_iva()}"
    company_id = await new_company(client, "IT", vatNumber=vat)
    connection = await connect_it(client, company_id)  # isReceiver by default
    assert (connection["status"], connection["isReceiver"]) == ("active", True)
    return client, company_id, vat


async def sdi_delivers(
    stack: Stack, buyer_vat: str, xml: bytes | None = None, *, signed: bool = False
) -> dict[str, Any]:
    """The simulated SDI's sandbox control: the invoice (the sample without `xml`) delivered to
    Clearway's channel, `signed` as a .xml.p7m."""
    body: dict[str, Any] = {"buyerVat": buyer_vat, "signed": signed}
    if xml is not None:
        body["xml"] = xml.decode()
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=60) as sim:
        answer = await sim.post(CONTROL, json=body)
    assert answer.status_code == 201, answer.text
    outcome: dict[str, Any] = answer.json()
    return outcome


async def test_an_invoice_sdi_delivers_arrives_once_as_json_with_its_file_and_metadata(
    stack: Stack, make_account: MakeAccount
) -> None:
    client, company_id, vat = await receiving_company(make_account)
    xml = fattura(vat)
    outcome = await sdi_delivers(stack, vat, xml)
    # ER01 only once recorded: the receipt comes after the commit.
    assert (outcome["delivered"], outcome["esito"], outcome["tentativiInvio"]) == (True, "ER01", 1)

    [summary] = await received_list(client, company_id, timeout=5)
    received = data_of(await client.get(f"/v1/received-invoices/{summary['id']}"))
    identificativo = str(outcome["identificativoSdI"])
    assert (received["country"], received["governmentId"]) == ("IT", identificativo)
    assert (received["supplierVat"], received["customerVat"]) == (SUPPLIER_VAT, vat)
    # As the document states them: the gross, and net and VAT per rate (DatiRiepilogo).
    assert (received["netAmount"], received["vatAmount"], received["grossAmount"]) == (
        "1100.00",
        "242.00",
        "1342.00",
    )
    invoice = received["invoice"]
    assert invoice["customer"]["vatNumber"] == vat
    assert [line["description"] for line in invoice["lines"]] == [
        "Consulenza informatica",
        "Hosting",
    ]
    assert [f for f in received["findings"] if f["severity"] == "error"] == []

    document = await client.get(f"/v1/received-invoices/{summary['id']}/document")
    assert (document.status_code, document.content) == (200, xml)
    evidence = await client.get(f"/v1/received-invoices/{summary['id']}/evidence")
    assert evidence.status_code == 200
    metadata = etree.fromstring(evidence.content)
    assert etree.QName(metadata) == etree.QName(MESSAGGI_NS, "MetadatiInvioFile")
    assert metadata.findtext("IdentificativoSdI") == identificativo
    assert metadata.findtext("NomeFile") == outcome["nomeFile"]
    assert metadata.findtext("CodiceDestinatario") == CHANNEL_CODE

    # SDI delivers the same file again (an ER01 it did not get): the same receipt, nothing added.
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=60) as sim:
        again = await sim.post(f"{CONTROL}/{identificativo}/deliver")
    assert (again.json()["delivered"], again.json()["tentativiInvio"]) == (True, 2)
    listed = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert [r["id"] for r in listed] == [summary["id"]]
    events = data_of(await client.get(f"/v1/received-invoices/{summary['id']}/events"))
    assert [e["event"] for e in events] == ["invoice.received"]

    # A signed file (.xml.p7m) is kept as signed, and read for the FatturaPA it signs.
    signed = await sdi_delivers(stack, vat, signed=True)
    assert signed["nomeFile"].endswith(".xml.p7m")
    [p7m] = [
        found
        for found in data_of(
            await client.get("/v1/received-invoices", params={"companyId": company_id})
        )
        if found["governmentId"] == str(signed["identificativoSdI"])
    ]
    assert (p7m["grossAmount"], p7m["customerVat"]) == ("1342.00", vat)
    assert p7m["mediaType"] == "application/pkcs7-mime"
    document = await client.get(f"/v1/received-invoices/{p7m['id']}/document")
    assert document.headers["content-type"] == "application/pkcs7-mime"
    assert etree.fromstring(signed_content(document.content)).findtext(
        "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/IdCodice"
    ) == vat.removeprefix("IT")


async def test_hostile_or_unaddressed_deliveries_are_kept_with_a_finding_or_refused(
    stack: Stack, make_account: MakeAccount
) -> None:
    client, company_id, vat = await receiving_company(make_account)
    # An external entity in a line: its buyer can be read without expanding anything, so it is
    # received, as delivered, with the finding that it cannot be read.
    xxe = (
        fattura(vat)
        .replace(
            b"?>",
            b'?>\n<!DOCTYPE p:FatturaElettronica [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
            1,
        )
        .replace(b"<Descrizione>Hosting</Descrizione>", b"<Descrizione>&xxe;</Descrizione>")
    )
    outcome = await sdi_delivers(stack, vat, xxe)
    assert outcome["delivered"] is True, outcome
    [summary] = await received_list(client, company_id, timeout=5)
    received = data_of(await client.get(f"/v1/received-invoices/{summary['id']}"))
    assert [f["rule"] for f in received["findings"]] == [UNREADABLE_RULE]
    assert "root:" not in str(received)
    document = await client.get(f"/v1/received-invoices/{summary['id']}/document")
    assert document.content == xxe

    # A file SDI could not name a buyer of, and one for a company that does not receive here:
    # refused with the reason (SDI keeps them and tries again), nothing recorded.
    laughs = (
        b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b"]>\n<lolz>&c;</lolz>"
    )
    refused = await sdi_delivers(stack, vat, laughs)
    assert (refused["delivered"], refused["lastStatus"]) == (False, 500)
    assert "FatturaElettronica" in refused["lastAnswer"]
    stranger = f"IT{new_partita_iva()}"
    unaddressed = await sdi_delivers(stack, stranger)
    assert unaddressed["delivered"] is False
    assert f"no company receives for {stranger} here" in unaddressed["lastAnswer"]

    # The receiver still takes the next delivery.
    await sdi_delivers(stack, vat, fattura(vat))
    listed = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert len(listed) == 2


async def test_the_network_endpoint_wants_the_network_key_and_a_post(stack: Stack) -> None:
    url = f"{stack.http_urls['receiver']}/networks/it/deliveries"
    async with httpx.AsyncClient(timeout=10) as http:
        keyless = await http.post(url, content=b"<x/>", headers={"Content-Type": "text/xml"})
        wrong_key = await http.post(
            url, content=b"<x/>", headers={"Authorization": "Bearer not-the-key"}
        )
        get = await http.get(url, headers={"Authorization": f"Bearer {SANDBOX_NETWORK_KEY}"})
        not_soap = await http.post(
            url,
            content=b"<x/>",
            headers={"Authorization": f"Bearer {SANDBOX_NETWORK_KEY}", "Content-Type": "text/xml"},
        )
    assert (keyless.status_code, keyless.json()) == (401, {"error": "no valid network key"})
    assert wrong_key.status_code == 401
    assert get.status_code == 405
    assert not_soap.status_code == 500  # SDI's terms: a SOAP Fault saying why
    assert b"not a SOAP 1.1 Envelope" in not_soap.content
