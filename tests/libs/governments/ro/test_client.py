"""The ANAF client against canned answers: what each failure means for an upload (taken
nothing, or perhaps taken), and that every call is recorded."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from clearway.connectors import GovCall
from clearway.governments.ro.client import (
    AnafAuthError,
    AnafClient,
    AnafOutcomeUnknownError,
    AnafRefusedError,
    AnafUnavailableError,
    parse_message_page,
)

REST = "https://anaf.test/test/FCTEL/rest"
TOKEN = "a-test-token"  # noqa: S105 - not a secret
UPLOADED = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202108051140" '
    b'ExecutionStatus="0" index_incarcare="3828"/>'
)
TECHNICAL_ERROR = (
    b'<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202210121034" '
    b'ExecutionStatus="1"><Errors errorMessage="A aparut o eroare tehnica. Cod: XXX"/></header>'
)


def _client(handler: Callable[[httpx.Request], httpx.Response]) -> AnafClient:
    return AnafClient(REST, httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def _upload(handler: Callable[[httpx.Request], httpx.Response]) -> list[GovCall]:
    calls: list[GovCall] = []
    await _client(handler).upload(b"<Invoice/>", cif="1234", token=TOKEN, calls=calls)
    return calls


async def test_an_upload_answer_is_read_and_recorded() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=UPLOADED)

    calls: list[GovCall] = []
    result = await _client(answer).upload(
        b"<Invoice/>",
        cif="1234",
        token=TOKEN,
        headers={"X-Clearway-Sandbox-Scenario": "slow"},
        calls=calls,
    )
    assert result.upload_id == "3828"
    [request] = seen
    assert request.url.params["standard"] == "UBL"
    assert request.url.params["cif"] == "1234"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-clearway-sandbox-scenario"] == "slow"
    [call] = calls
    assert (call.endpoint, call.http_status, call.outcome) == ("POST /upload", 200, "ok")
    assert call.public(1)["attempt"] == 1


UBL_INVOICE = b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>'
UBL_CREDIT_NOTE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<CreditNote xmlns="urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"/>'
)
CII_INVOICE = (
    b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:'
    b'CrossIndustryInvoice:100"/>'
)


@pytest.mark.parametrize(
    ("document", "standard"),
    [(UBL_INVOICE, "UBL"), (UBL_CREDIT_NOTE, "CN"), (CII_INVOICE, "CII")],
    ids=["invoice", "credit-note", "cii"],
)
async def test_each_document_is_uploaded_with_the_standard_its_root_calls_for(
    document: bytes, standard: str
) -> None:
    # ANAF validates against the schema `standard` names: a CreditNote sent as UBL is refused.
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=UPLOADED)

    await _client(answer).upload(document, cif="1234", token=TOKEN)
    [request] = seen
    assert request.url.params["standard"] == standard
    assert request.content == document


async def test_a_technical_error_inside_http_200_is_recognised() -> None:
    result = await _client(lambda _: httpx.Response(200, content=TECHNICAL_ERROR)).upload(
        b"<Invoice/>", cif="1", token=TOKEN
    )
    assert result.upload_id is None
    assert result.technical_error


@pytest.mark.parametrize(
    ("answer", "error", "outcome"),
    [
        (httpx.Response(503, text="<html>503</html>"), AnafUnavailableError, "http_503"),
        (httpx.Response(500, json={"message": ""}), AnafUnavailableError, "http_500"),
        (httpx.Response(504, text="Gateway Timeout"), AnafOutcomeUnknownError, "lost_response"),
        (httpx.Response(502, text="Bad Gateway"), AnafOutcomeUnknownError, "lost_response"),
        (httpx.Response(200, content=b"<not xml"), AnafOutcomeUnknownError, "ok"),
        (httpx.Response(401, json={"message": "Token invalid"}), AnafAuthError, "http_401"),
        (httpx.Response(400, json={"message": "Parametrii"}), AnafRefusedError, "http_400"),
    ],
)
async def test_what_each_failed_answer_means_for_an_upload(
    answer: httpx.Response, error: type[Exception], outcome: str
) -> None:
    calls: list[GovCall] = []
    with pytest.raises(error):
        await _client(lambda _: answer).upload(b"<Invoice/>", cif="1", token=TOKEN, calls=calls)
    assert calls[-1].outcome == outcome


async def test_429_carries_retry_after() -> None:
    def limited(_: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"message": "S-au facut"})

    with pytest.raises(AnafUnavailableError) as caught:
        await _upload(limited)
    assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    ("transport_error", "error", "outcome"),
    [
        (httpx.ConnectError("refused"), AnafUnavailableError, "connect_error"),
        (httpx.ConnectTimeout("slow connect"), AnafUnavailableError, "connect_error"),
        (httpx.ReadTimeout("no answer"), AnafOutcomeUnknownError, "timeout"),
        (httpx.RemoteProtocolError("dropped"), AnafOutcomeUnknownError, "connection_lost"),
    ],
)
async def test_a_timeout_after_sending_is_an_unknown_outcome_a_refused_connection_is_not(
    transport_error: Exception, error: type[Exception], outcome: str
) -> None:
    def fail(_: httpx.Request) -> httpx.Response:
        raise transport_error

    calls: list[GovCall] = []
    with pytest.raises(error):
        await _client(fail).upload(b"<Invoice/>", cif="1", token=TOKEN, calls=calls)
    [call] = calls
    assert call.http_status is None
    assert call.outcome == outcome


def test_the_message_list_and_its_empty_answer() -> None:
    page = parse_message_page(
        {
            "mesaje": [
                {
                    "data_creare": "202210311452",
                    "cif": "8000000000",
                    "id_solicitare": "5001120362",
                    "detalii": "Factura cu id_incarcare=5001120362 emisa de cif_emitent=8000000000",
                    "tip": "FACTURA TRIMISA",
                    "id": "3001474425",
                }
            ],
            "numar_total_pagini": 3,
        }
    )
    [message] = page.messages
    assert (message.upload_id, message.download_id, message.kind) == (
        "5001120362",
        "3001474425",
        "FACTURA TRIMISA",
    )
    assert message.created.isoformat() == "2022-10-31T14:52:00+02:00"
    assert page.pages == 3
    empty = parse_message_page({"eroare": "Nu exista mesaje in intervalul selectat"})
    assert empty.messages == ()
    with pytest.raises(AnafRefusedError):
        parse_message_page({"eroare": "Nu aveti drept in SPV pentru CIF=8000000000"})
