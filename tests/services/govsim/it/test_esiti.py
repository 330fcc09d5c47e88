"""SdIRiceviNotifica at the simulated SDI, and Clearway's SdiResponder against it: an EC on a
public administration's file (FPA12) delivered to the channel is taken (ES01) once; SDI answers
a B2B file's (FPR12), a second esito, one past the 15 days, one on a file it never delivered, and
a malformed one with a scarto (ES00 + SE EN01/EN00), and the responder reports the scarto as
SDI's refusal, in its words."""

from __future__ import annotations

import base64
from contextlib import nullcontext

import httpx
import pytest
from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.responses import BuyerResponse
from clearway.governments.it.client import SdiClient
from clearway.governments.it.esito import (
    esito_committente,
    esito_file_name,
    received_fattura,
    scarto_reason,
)
from clearway.governments.it.responding import SdiResponder

from services.govsim.it.state import PA_ESITO_SECONDS
from tests.services.govsim.it.test_it_sim import fattura
from tests.services.govsim.it.test_it_sim import http as http  # noqa: PLC0414 - fixture
from tests.services.govsim.it.test_it_sim import simulator as simulator  # noqa: PLC0414
from tests.services.govsim.simtools import FakeClock

ACCEPT = BuyerResponse.model_validate({"decision": "accept"})
REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Importo errato"})


async def _delivered(http: httpx.AsyncClient, identificativo: str, formato: str) -> None:
    """SDI delivered that file to the channel (what its push records)."""
    answer = await http.post(
        "/_sim/it/delivered-files",
        json={
            "identificativoSdI": identificativo,
            "nomeFile": "IT01234567890_00001.xml",
            "formato": formato,
        },
    )
    assert answer.status_code == 201, answer.text


def _responder(http: httpx.AsyncClient, identificativo: str, versione: str) -> SdiResponder:
    received = received_fattura(fattura(versione=versione), None, identificativo)
    # The sandbox façade over plain HTTP: the channel is `http` itself (no certificate to present).
    return SdiResponder(SdiClient("http://govsim/sdi", http), received, lambda: nullcontext(http))


async def test_a_pa_invoices_refusal_is_taken_once(http: httpx.AsyncClient) -> None:
    await _delivered(http, "4000000001", "FPA12")

    receipt = await _responder(http, "4000000001", "FPA12").respond(REJECT, attempts=0)
    with pytest.raises(GovernmentRefusedError) as second:
        await _responder(http, "4000000001", "FPA12").respond(ACCEPT, attempts=0)

    assert receipt.network_id == "4000000001"
    assert receipt.details["nomeFile"].endswith("_EC_001.xml")
    assert "SE EN01: Esito EC02 già ricevuto" in second.value.message
    # The sandbox shows what SDI took (the supplier's NE): the refusal with its Descrizione.
    taken = (await http.get("/_sim/it/delivered-files/4000000001")).json()
    assert (taken["esito"], taken["descrizione"]) == ("EC02", "Importo errato")
    assert (await http.get("/_sim/it/delivered-files/4000000009")).status_code == 404


async def test_after_a_lost_answer_the_esito_already_taken_is_the_receipt(
    http: httpx.AsyncClient,
) -> None:
    await _delivered(http, "4000000002", "FPA12")
    await _responder(http, "4000000002", "FPA12").respond(ACCEPT, attempts=0)  # answer "lost"

    again = await _responder(http, "4000000002", "FPA12").respond(ACCEPT, attempts=1)

    assert again.details["alreadyRecorded"] is True


async def test_a_b2b_invoices_esito_is_a_scarto_the_responder_reports(
    http: httpx.AsyncClient,
) -> None:
    await _delivered(http, "4000000003", "FPR12")

    with pytest.raises(GovernmentRefusedError) as refused:
        await _responder(http, "4000000003", "FPR12").respond(REJECT, attempts=0)

    assert refused.value.message.startswith("SDI refused the esito committente: SE EN01: ")
    assert "FPR12 tra privati" in refused.value.message


async def test_past_fifteen_days_an_esito_is_a_scarto(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await _delivered(http, "4000000004", "FPA12")
    clock.advance(PA_ESITO_SECONDS + 1)

    with pytest.raises(GovernmentRefusedError, match="Decorsi i termini"):
        await _responder(http, "4000000004", "FPA12").respond(ACCEPT, attempts=0)


async def _post(http: httpx.AsyncClient, name: str, content: bytes) -> dict[str, object]:
    answer = await http.post(
        "/sdi/esiti", json={"nomeFile": name, "file": base64.b64encode(content).decode()}
    )
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_a_file_never_delivered_and_a_malformed_esito_are_scarti(
    http: httpx.AsyncClient,
) -> None:
    received = received_fattura(fattura(versione="FPA12"), None, "4999999999")
    name = esito_file_name(received.file_name)

    unknown = await _post(http, name, esito_committente(received, ACCEPT))
    malformed = await _post(http, name, b"<NotificaEsitoCommittente/>")

    for body, code in ((unknown, "EN01"), (malformed, "EN00")):
        assert body["esito"] == "ES00"
        scarto = body["scartoEsito"]
        assert isinstance(scarto, dict)
        assert str(scarto["nomeFile"]).endswith("_SE_001.xml")
        assert scarto_reason(base64.b64decode(str(scarto["file"]))).startswith(f"SE {code}")
