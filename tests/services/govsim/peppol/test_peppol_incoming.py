"""The simulated access point's receiving side: a document for one of its participants wrapped
in an SBD and forwarded to Clearway's receiver (here a recording stand-in) as providers do,
retried until acknowledged, refused for a participant that is not its customer's."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from clearway.config import Settings
from clearway.governments import government
from clearway.governments.de.document import render_xrechnung_cii
from lxml import etree

from services.govsim.peppol.incoming import DELIVERY_ATTEMPTS, SBDH_NS
from services.govsim.peppol.participants import DEFAULT_DOCUMENT_TYPES
from services.govsim.peppol.state import PeppolSimulator
from tests.libs.config.test_live_endpoints import REQUIRED
from tests.libs.formats.corpus import invoice
from tests.services.govsim.simtools import (
    HOSTILE_XML_IDS,
    UBL_INVOICE_NS,
    FakeClock,
    hostile_xml,
    refused_unexpanded,
)

RECEIVER_URL = "http://receiver.test"
NETWORK_KEY = "test-network-key"
BE_RECEIVER = "0208:0123456749"
DE_RECEIVER = "9930:DE123456789"
SH = {"sh": SBDH_NS}
Answer = Callable[[httpx.Request], httpx.Response]


class Receiver:
    """Clearway's network endpoint as the simulator meets it: the requests it got, and the
    answers it gives in turn (then 200)."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.answers: list[Answer] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)(request)
        return httpx.Response(200, json={"status": "received"})


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
def simulator(clock: FakeClock, receiver: Receiver) -> PeppolSimulator:
    return PeppolSimulator(
        processing_delay=2.0,
        api_key="test-ap-key",
        clock=clock,
        receiver_url=RECEIVER_URL,
        network_key=NETWORK_KEY,
        delivery_backoff=0,
        delivery_transport=httpx.MockTransport(receiver),
    )


async def register(http: httpx.AsyncClient, participant: str, **more: Any) -> httpx.Response:
    return await http.post("/_sim/peppol/participants", json={"participantId": participant, **more})


async def incoming(http: httpx.AsyncClient, **request: Any) -> httpx.Response:
    return await http.post("/_sim/peppol/incoming", json=request)


def header_text(sbd: bytes, path: str) -> str | None:
    return etree.fromstring(sbd).findtext(f"sh:StandardBusinessDocumentHeader/{path}", None, SH)


async def test_a_sample_is_forwarded_to_clearway_as_an_sbd_clearway_takes(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    assert (await register(http, BE_RECEIVER, name="Brouwerij NV")).status_code == 201

    answer = await incoming(http, receiver=BE_RECEIVER, country="BE")
    assert answer.status_code == 200, answer.text
    outcome = answer.json()
    assert (outcome["outcome"], outcome["attempts"], outcome["status"]) == ("delivered", 1, 200)
    assert outcome["as4MessageId"].endswith("@govsim-ap")

    [request] = receiver.requests
    assert str(request.url) == f"{RECEIVER_URL}/networks/be/deliveries"
    assert request.headers["authorization"] == f"Bearer {NETWORK_KEY}"
    assert request.headers["content-type"] == "application/xml"
    sbd = request.content
    receiver_path = "sh:Receiver/sh:Identifier"
    assert header_text(sbd, receiver_path) == BE_RECEIVER
    instance_path = "sh:DocumentIdentification/sh:InstanceIdentifier"
    assert header_text(sbd, instance_path) == outcome["instanceIdentifier"]
    # What Clearway's Belgian channel makes of it: a BIS invoice to the participant.
    channel = government("BE").push_channel(Settings.from_env(REQUIRED))
    assert channel is not None
    pushed = channel.take(sbd, request.headers["content-type"])
    assert (pushed.recipient, pushed.delivery.government_id) == (
        BE_RECEIVER,
        outcome["instanceIdentifier"],
    )
    document = etree.fromstring(pushed.delivery.document)
    assert etree.QName(document).namespace == UBL_INVOICE_NS
    customer_endpoint = document.findtext("{*}AccountingCustomerParty/{*}Party/{*}EndpointID")
    assert customer_endpoint == "0123456749"


async def test_a_given_xrechnung_goes_to_the_german_endpoint_byte_for_byte(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(http, DE_RECEIVER)
    document = render_xrechnung_cii(invoice("DE"), invoice_number="RE-1")
    answer = await incoming(
        http,
        receiver=DE_RECEIVER,
        country="DE",
        document=document.decode(),
        instanceIdentifier="my-instance-1",
    )
    assert answer.json()["outcome"] == "delivered"
    assert answer.json()["instanceIdentifier"] == "my-instance-1"

    [request] = receiver.requests
    assert request.url.path == "/networks/de/deliveries"
    inside = document.split(b"?>", 1)[1].strip()  # the declaration cannot stand inside the SBD
    assert inside in request.content
    channel = government("DE").push_channel(Settings.from_env(REQUIRED))
    assert channel is not None
    assert channel.take(request.content, "application/xml").delivery.document == inside


async def test_an_unacknowledged_delivery_is_retried_until_acknowledged(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(http, BE_RECEIVER)

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("no answer", request=request)

    receiver.answers = [lambda _request: httpx.Response(503), lost]
    outcome = (await incoming(http, receiver=BE_RECEIVER, country="BE")).json()

    assert (outcome["outcome"], outcome["attempts"]) == ("delivered", 3)
    first, *others = (request.content for request in receiver.requests)
    assert others == [first, first]  # the same SBD each time: the same instance identifier


async def test_a_receiver_that_never_acknowledges_leaves_it_undelivered(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(http, BE_RECEIVER)
    receiver.answers = [lambda _request: httpx.Response(503)] * DELIVERY_ATTEMPTS
    outcome = (await incoming(http, receiver=BE_RECEIVER, country="BE")).json()
    assert (outcome["outcome"], outcome["attempts"], outcome["status"]) == (
        "undelivered",
        DELIVERY_ATTEMPTS,
        503,
    )


async def test_a_refusal_is_final_and_its_reason_reported(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(http, BE_RECEIVER)
    refusal = {"status": "refused", "error": "no company receives for 0208:0123456749 here"}
    receiver.answers = [lambda _request: httpx.Response(422, json=refusal)]
    outcome = (await incoming(http, receiver=BE_RECEIVER, country="BE")).json()
    assert (outcome["outcome"], outcome["attempts"], outcome["answer"]) == ("refused", 1, refusal)
    assert len(receiver.requests) == 1


async def test_a_redelivery_forwards_the_same_sbd_again(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await register(http, BE_RECEIVER)
    first = (await incoming(http, receiver=BE_RECEIVER, country="BE")).json()
    again = await http.post(f"/_sim/peppol/incoming/{first['instanceIdentifier']}/redeliver")
    assert again.json()["outcome"] == "delivered"
    assert again.json()["as4MessageId"] == first["as4MessageId"]
    assert receiver.requests[0].content == receiver.requests[1].content
    unknown = await http.post("/_sim/peppol/incoming/nothing-like-it/redeliver")
    assert unknown.status_code == 404


async def test_only_the_access_points_own_participants_receive(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    # Listed by the sandbox SMP (any well-formed id is), but not registered here.
    answer = await incoming(http, receiver=BE_RECEIVER, country="BE")
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "RECEIVER_NOT_FOUND"
    malformed = await incoming(http, receiver="0208:0123456700", country="BE")
    assert malformed.status_code == 400
    assert receiver.requests == []


async def test_a_document_type_the_participant_is_not_registered_for_is_not_sent(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    bis_only = [t for t in DEFAULT_DOCUMENT_TYPES if "peppol.eu" in t]
    await register(http, DE_RECEIVER, documentTypes=bis_only)
    answer = await incoming(http, receiver=DE_RECEIVER, country="DE")  # an XRechnung CII
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["code"] == "DOCUMENT_TYPE_NOT_SUPPORTED"
    assert receiver.requests == []


async def test_the_smp_publishes_the_document_types_registered(http: httpx.AsyncClient) -> None:
    bis_invoice = next(t for t in DEFAULT_DOCUMENT_TYPES if "peppol.eu" in t)
    registered = await register(
        http, BE_RECEIVER, documentTypes=[f"busdox-docid-qns::{bis_invoice}"]
    )
    assert registered.json()["documentTypes"] == [bis_invoice]
    group = await http.get(f"/peppol/smp/iso6523-actorid-upis::{BE_RECEIVER}")
    hrefs = etree.fromstring(group.content).xpath("//@href")
    assert len(hrefs) == 1
    malformed = await register(http, BE_RECEIVER, documentTypes=["an invoice, please"])
    assert malformed.status_code == 422
    assert "an invoice, please" in malformed.json()["detail"]


@pytest.mark.parametrize(
    "payload", hostile_xml("Invoice", UBL_INVOICE_NS)[:2], ids=HOSTILE_XML_IDS[:2]
)
async def test_a_hostile_document_is_refused_unexpanded(
    http: httpx.AsyncClient, receiver: Receiver, payload: bytes
) -> None:
    await register(http, BE_RECEIVER)
    answer = await incoming(http, receiver=BE_RECEIVER, country="BE", document=payload.decode())
    refused_unexpanded(answer, 422, shorter_than=400)
    assert json.loads(answer.text)["errors"][0]["code"] == "INVALID_XML"
    assert receiver.requests == []
