"""The simulated SDI delivering purchase invoices to the recipient's channel: RiceviFatture as
SDICoop makes it, tried again until the channel answers ER01, and the sandbox control that
starts it. The channel here is a recording transport; that Clearway's own channel takes what the
simulator sends is checked here too (the contract), and end to end in tests/services/receiver."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from clearway.governments.it.receiving import SdiChannel
from clearway.governments.it.signed import P7M, signed_content
from lxml import etree

from services.govsim.app import CountrySimulators, GovsimSettings, create_app
from services.govsim.it.delivery import RICEZIONE_NS, SOAP_ACTION, SOAP_NS, RecipientChannel
from services.govsim.it.purchases import SAMPLE_SUPPLIER_PIVA
from services.govsim.it.state import SdiSimulator
from tests.services.govsim.it.test_it_sim import FATTURA_NS, MESSAGGI_NS, fattura
from tests.services.govsim.simtools import FakeClock, govsim_client, hostile_xml

CONTROL = "/_sim/it/purchase-invoices"
CODE = "CLRWY01"
BUYER = "IT09876543217"
URL = "http://receiver/networks/it/deliveries"
KEY = "network-key"
ER01 = (
    f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><t:rispostaRiceviFatture '
    f'xmlns:t="{RICEZIONE_NS}"><Esito>ER01</Esito></t:rispostaRiceviFatture></soap:Body>'
    "</soap:Envelope>"
)
FAULT = (
    f'<soap:Envelope xmlns:soap="{SOAP_NS}"><soap:Body><soap:Fault><faultcode>soap:Client'
    "</faultcode><faultstring>no company receives here</faultstring></soap:Fault></soap:Body>"
    "</soap:Envelope>"
)


class Recipient:
    """The channel's side: records each call, answers from a script (the last answer repeats)."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.script: list[Callable[[httpx.Request], httpx.Response]] = [er01]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        answer = self.script[min(len(self.calls), len(self.script)) - 1]
        return answer(request)

    def call(self, index: int) -> dict[str, Any]:
        """A recorded call's fields, its files decoded."""
        envelope = etree.fromstring(self.calls[index].content)
        call = envelope.find(f"{{{SOAP_NS}}}Body/{{{RICEZIONE_NS}}}fileSdIConMetadati")
        assert call is not None
        fields: dict[str, Any] = {child.tag: child.text for child in call}
        fields["File"] = base64.b64decode(fields["File"])
        fields["Metadati"] = etree.fromstring(base64.b64decode(fields["Metadati"]))
        return fields


def er01(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, text=ER01, headers={"Content-Type": "text/xml"})


def fault(_request: httpx.Request) -> httpx.Response:
    return httpx.Response(500, text=FAULT, headers={"Content-Type": "text/xml"})


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.fixture
def recipient() -> Recipient:
    return Recipient()


@pytest.fixture
def simulator(clock: FakeClock, recipient: Recipient) -> SdiSimulator:
    channel = RecipientChannel(
        url=URL,
        code=CODE,
        network_key=KEY,
        backoff=(0.0, 0.0),
        transport=httpx.MockTransport(recipient),
    )
    return SdiSimulator(processing_delay=1.0, clock=clock, channel=channel)


@pytest.fixture
async def http(simulator: SdiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with govsim_client(CountrySimulators(sdi=simulator)) as client:
        yield client


def metadata(fields: dict[str, Any]) -> dict[str, str]:
    root = fields["Metadati"]
    assert etree.QName(root) == etree.QName(MESSAGGI_NS, "MetadatiInvioFile")
    return {child.tag: child.text for child in root}


async def test_a_sample_purchase_invoice_is_delivered_as_ricevi_fatture_with_its_metadata(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    answer = await http.post(CONTROL, json={"buyerVat": BUYER})

    assert answer.status_code == 201, answer.text
    outcome = answer.json()
    assert (outcome["delivered"], outcome["esito"], outcome["tentativiInvio"]) == (True, "ER01", 1)
    [request] = recipient.calls
    assert str(request.url) == URL
    assert request.headers["Content-Type"] == "text/xml; charset=utf-8"
    assert request.headers["SOAPAction"] == SOAP_ACTION
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    fields = recipient.call(0)
    assert fields["IdentificativoSdI"] == str(outcome["identificativoSdI"])
    assert fields["NomeFile"] == outcome["nomeFile"]
    assert fields["NomeFile"].startswith(f"IT{SAMPLE_SUPPLIER_PIVA}_")
    assert fields["NomeFileMetadati"] == fields["NomeFile"].removesuffix(".xml") + "_MT_001.xml"
    invoice = etree.fromstring(fields["File"])
    buyer = "FatturaElettronicaHeader/CessionarioCommittente/DatiAnagrafici/IdFiscaleIVA/"
    assert invoice.findtext(buyer + "IdPaese") + invoice.findtext(buyer + "IdCodice") == BUYER
    code = "FatturaElettronicaHeader/DatiTrasmissione/CodiceDestinatario"
    assert invoice.findtext(code) == CODE
    assert metadata(fields) == {
        "IdentificativoSdI": fields["IdentificativoSdI"],
        "NomeFile": fields["NomeFile"],
        "CodiceDestinatario": CODE,
        "Formato": "FPR12",
        "TentativiInvio": "1",
        "MessageId": metadata(fields)["MessageId"],
    }
    # The contract: Clearway's own channel takes what the simulator delivers.
    pushed = SdiChannel(CODE).take(request.content, request.headers["Content-Type"])
    assert (pushed.recipient, pushed.delivery.government_id) == (
        BUYER,
        fields["IdentificativoSdI"],
    )


async def test_a_signed_file_is_delivered_as_its_p7m(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    outcome = (await http.post(CONTROL, json={"buyerVat": BUYER, "signed": True})).json()

    assert outcome["delivered"] is True
    fields = recipient.call(0)
    assert fields["NomeFile"].endswith(".xml.p7m")
    assert metadata(fields)["NomeFile"] == fields["NomeFile"]
    assert fields["NomeFileMetadati"] == fields["NomeFile"].removesuffix(".xml.p7m") + "_MT_001.xml"
    document = signed_content(fields["File"])
    assert etree.fromstring(document).tag == f"{{{FATTURA_NS}}}FatturaElettronica"
    pushed = SdiChannel(CODE).take(recipient.calls[0].content, "text/xml")
    assert (pushed.recipient, pushed.delivery.media_type) == (BUYER, P7M)
    assert pushed.delivery.document == fields["File"]


async def test_a_delivery_not_acknowledged_is_tried_again_counting_its_attempts(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    recipient.script = [fault, unreachable, er01]
    outcome = (await http.post(CONTROL, json={"buyerVat": BUYER})).json()

    assert (outcome["delivered"], outcome["tentativiInvio"]) == (True, 3)
    calls = [recipient.call(index) for index in range(3)]
    assert [metadata(call)["TentativiInvio"] for call in calls] == ["1", "2", "3"]
    assert len({call["IdentificativoSdI"] for call in calls}) == 1  # the same file each time


async def test_a_channel_that_never_answers_er01_leaves_the_file_undelivered(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    recipient.script = [fault]
    outcome = (await http.post(CONTROL, json={"buyerVat": BUYER})).json()

    assert (outcome["delivered"], outcome["esito"], outcome["tentativiInvio"]) == (False, None, 3)
    assert outcome["lastStatus"] == 500
    assert "no company receives here" in outcome["lastAnswer"]
    # A 200 without ER01 is no receipt either.
    recipient.script = [lambda _request: httpx.Response(200, text="<ok/>")]
    again = await http.post(f"{CONTROL}/{outcome['identificativoSdI']}/deliver")
    assert (again.json()["delivered"], again.json()["tentativiInvio"]) == (False, 6)


async def test_a_file_is_delivered_again_under_the_same_identificativo(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    first = (await http.post(CONTROL, json={"buyerVat": BUYER})).json()
    again = await http.post(f"{CONTROL}/{first['identificativoSdI']}/deliver")

    assert again.status_code == 200
    assert (again.json()["delivered"], again.json()["tentativiInvio"]) == (True, 2)
    assert recipient.call(0)["File"] == recipient.call(1)["File"]
    assert recipient.call(1)["IdentificativoSdI"] == str(first["identificativoSdI"])
    assert (await http.post(f"{CONTROL}/1/deliver")).status_code == 404


async def test_the_tests_own_invoice_is_delivered_as_given_for_its_buyer_only(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    document = fattura(codice_destinatario=CODE, buyer=BUYER.removeprefix("IT"))
    delivered = await http.post(CONTROL, json={"buyerVat": BUYER, "xml": document.decode()})
    assert delivered.status_code == 201
    assert recipient.call(0)["File"] == document
    assert recipient.call(0)["NomeFile"] == "IT01234567897_00001.xml"  # its transmitter's

    other = await http.post(CONTROL, json={"buyerVat": "IT07654320154", "xml": document.decode()})
    assert other.status_code == 422
    assert BUYER in other.json()["detail"]
    assert len(recipient.calls) == 1


async def test_a_document_sdi_cannot_read_is_delivered_as_given_for_the_channel_to_judge(
    http: httpx.AsyncClient, recipient: Recipient
) -> None:
    hostile = hostile_xml("FatturaElettronica", MESSAGGI_NS)[0]
    answer = await http.post(CONTROL, json={"buyerVat": BUYER, "xml": hostile.decode()})
    assert answer.status_code == 201
    assert recipient.call(0)["File"] == hostile
    assert recipient.call(0)["NomeFile"].startswith(f"IT{SAMPLE_SUPPLIER_PIVA}_")


async def test_without_a_channel_nothing_is_delivered(clock: FakeClock) -> None:
    simulator = SdiSimulator(processing_delay=1.0, clock=clock)
    async with govsim_client(CountrySimulators(sdi=simulator)) as http:
        answer = await http.post(CONTROL, json={"buyerVat": BUYER})
    assert answer.status_code == 503
    assert "GOVSIM_RECEIVER_URL" in answer.json()["detail"]
    assert simulator.purchases == {}


def test_the_receiver_url_and_network_key_make_the_channel() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_RECEIVER_URL": "http://127.0.0.1:9/", "GOVSIM_NETWORK_KEY": "k"}
    )
    channel = create_app(settings).state.sdi.channel
    assert (channel.url, channel.code, channel.network_key) == (
        "http://127.0.0.1:9/networks/it/deliveries",
        CODE,
        "k",
    )
    assert create_app(GovsimSettings()).state.sdi.channel is None


async def test_a_reset_forgets_the_purchase_files(
    http: httpx.AsyncClient, simulator: SdiSimulator
) -> None:
    await http.post(CONTROL, json={"buyerVat": BUYER})
    assert simulator.purchases
    await http.post("/_sim/it/reset")
    assert simulator.purchases == {}
