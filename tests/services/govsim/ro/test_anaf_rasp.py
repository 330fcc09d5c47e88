"""The simulated ANAF's RASP uploads (the buyer's message on a received invoice): the header
checked (namespace, attributes), an index the buyer never received refused, 1,000 a day per
CUI with ANAF's error, and what it took shown at /_sim/anaf/buyer-messages."""

from __future__ import annotations

import httpx
import pytest
from lxml import etree

from services.govsim.ro.api import AnafSimulator
from services.govsim.ro.state import RASP_UPLOADS_PER_CIF_PER_DAY
from tests.services.govsim.ro.test_anaf_inbox import deliver
from tests.services.govsim.ro.test_anaf_sim import (
    BUYER_CIF,
    SELLER_CIF,
    error_messages,
    invoice_xml,
    upload,
)
from tests.services.govsim.simtools import FakeClock

RASP_NS = "mfp:anaf:dgti:spv:reqMesaj:v1"


def rasp(index: str, message: str = "Factura acceptata", namespace: str = RASP_NS) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<header xmlns="{namespace}" index_incarcare="{index}" message="{message}"/>'
    ).encode()


async def received_index(client: httpx.AsyncClient) -> str:
    delivered = await deliver(client, xml=invoice_xml().decode())
    index: str = delivered["id_solicitare"]
    return index


async def test_a_buyer_message_on_a_received_invoice_is_taken_and_shown(
    client: httpx.AsyncClient, token: str
) -> None:
    index = await received_index(client)

    answer = await upload(
        client, token, rasp(index, "Factura respinsa"), cif=BUYER_CIF, standard="RASP"
    )

    assert answer.get("ExecutionStatus") == "0", etree.tostring(answer)
    taken = answer.get("index_incarcare")
    assert taken is not None
    assert taken != index
    shown = (await client.get("/_sim/anaf/buyer-messages")).json()
    assert shown == [
        {
            "index_incarcare": int(taken),
            "environment": "test",
            "cif": BUYER_CIF,
            "invoice_index": int(index),
            "message": "Factura respinsa",
        }
    ]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (rasp("1", namespace="mfp:anaf:dgti:spv:reqMesaj:v2"), "declaration of element 'header'"),
        (
            b'<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" message="x"/>',
            "Attribute 'index_incarcare' must appear on element 'header'",
        ),
        (rasp("{index}", message=" "), "Attribute 'message' must appear on element 'header'"),
        (rasp("12a"), "'12a' is not a valid value for 'integer'"),
    ],
    ids=["namespace", "no-index", "empty-message", "index-not-a-number"],
)
async def test_a_malformed_buyer_message_is_refused(
    client: httpx.AsyncClient, token: str, body: bytes, expected: str
) -> None:
    index = await received_index(client)

    answer = await upload(
        client, token, body.replace(b"{index}", index.encode()), cif=BUYER_CIF, standard="RASP"
    )

    assert answer.get("ExecutionStatus") == "1"
    assert expected in error_messages(answer)[0]
    assert (await client.get("/_sim/anaf/buyer-messages")).json() == []


async def test_a_buyer_message_on_an_invoice_the_cui_never_received_is_refused(
    client: httpx.AsyncClient, token: str
) -> None:
    index = await received_index(client)  # received by BUYER_CIF, not by its seller

    for cif, unknown in ((SELLER_CIF, index), (BUYER_CIF, "4999999999")):
        answer = await upload(client, token, rasp(unknown), cif=cif, standard="RASP")
        assert answer.get("ExecutionStatus") == "1"
        assert error_messages(answer) == [f"Nu exista factura cu id_incarcare= {unknown}"]
    assert (await client.get("/_sim/anaf/buyer-messages")).json() == []


async def test_a_cui_uploads_a_thousand_buyer_messages_a_day(
    client: httpx.AsyncClient, clock: FakeClock, simulator: AnafSimulator, token: str
) -> None:
    index = await received_index(client)
    for _ in range(RASP_UPLOADS_PER_CIF_PER_DAY - 1):  # as if uploaded earlier today
        simulator.count_today("rasp", BUYER_CIF)
    last = await upload(client, token, rasp(index), cif=BUYER_CIF, standard="RASP")
    assert last.get("ExecutionStatus") == "0"

    refused = await upload(client, token, rasp(index), cif=BUYER_CIF, standard="RASP")

    assert refused.get("ExecutionStatus") == "1"
    assert error_messages(refused) == [
        f"S-au incarcat deja 1000 de mesaje de tip RASP pentru cui={BUYER_CIF} in cursul zilei"
    ]
    clock.advance(12 * 3600)  # past midnight in Bucharest
    again = await upload(client, token, rasp(index), cif=BUYER_CIF, standard="RASP")
    assert again.get("ExecutionStatus") == "0"
