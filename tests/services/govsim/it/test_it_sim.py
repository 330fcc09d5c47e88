"""The SDI simulator (REST façade over SDICoop's semantics), driven as a connector would."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from lxml import etree

from services.govsim.app import CountrySimulators, GovsimSettings
from services.govsim.it.state import SdiSimulator
from tests.services.govsim import simtools
from tests.services.govsim.simtools import (
    EVERY_FAULT_STATUS,
    HOSTILE_XML_IDS,
    FakeClock,
    govsim_client,
    hostile_xml,
    queue_every_fault,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

CONTROL = "/_sim/it"
PROCESSING_DELAY = 3.0
SELLER_PIVA = "01234567897"
BUYER_PIVA = "09876543217"
FATTURA_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/fatture/v1.2"
MESSAGGI_NS = "http://ivaservizi.agenziaentrate.gov.it/docs/xsd/messaggi/v1.0"
DAY = 86_400


def fattura(
    *,
    versione: str = "FPR12",
    formato: str | None = None,
    codice_destinatario: str = "ABC1234",
    pec: str = "",
    seller: str = SELLER_PIVA,
    buyer: str = BUYER_PIVA,
    numero: str = "1",
    data: str = "2026-06-01",
) -> bytes:
    """A small FatturaPA; the defaults make a valid B2B invoice (FPR12)."""
    pec_element = f"<PECDestinatario>{pec}</PECDestinatario>" if pec else ""
    buyer_id = (
        f"<IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{buyer}</IdCodice></IdFiscaleIVA>"
        if buyer
        else ""
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<p:FatturaElettronica versione="{versione}" xmlns:p="{FATTURA_NS}">
  <FatturaElettronicaHeader>
    <DatiTrasmissione>
      <IdTrasmittente><IdPaese>IT</IdPaese><IdCodice>{SELLER_PIVA}</IdCodice></IdTrasmittente>
      <ProgressivoInvio>00001</ProgressivoInvio>
      <FormatoTrasmissione>{formato or versione}</FormatoTrasmissione>
      <CodiceDestinatario>{codice_destinatario}</CodiceDestinatario>{pec_element}
    </DatiTrasmissione>
    <CedentePrestatore>
      <DatiAnagrafici>
        <IdFiscaleIVA><IdPaese>IT</IdPaese><IdCodice>{seller}</IdCodice></IdFiscaleIVA>
        <Anagrafica><Denominazione>Venditore S.r.l.</Denominazione></Anagrafica>
        <RegimeFiscale>RF01</RegimeFiscale>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Roma 1</Indirizzo><CAP>00100</CAP><Comune>Roma</Comune>
        <Nazione>IT</Nazione></Sede>
    </CedentePrestatore>
    <CessionarioCommittente>
      <DatiAnagrafici>{buyer_id}
        <Anagrafica><Denominazione>Cliente S.p.A.</Denominazione></Anagrafica>
      </DatiAnagrafici>
      <Sede><Indirizzo>Via Milano 2</Indirizzo><CAP>20100</CAP><Comune>Milano</Comune>
        <Nazione>IT</Nazione></Sede>
    </CessionarioCommittente>
  </FatturaElettronicaHeader>
  <FatturaElettronicaBody>
    <DatiGenerali>
      <DatiGeneraliDocumento>
        <TipoDocumento>TD01</TipoDocumento><Divisa>EUR</Divisa>
        <Data>{data}</Data><Numero>{numero}</Numero>
      </DatiGeneraliDocumento>
    </DatiGenerali>
    <DatiBeniServizi>
      <DettaglioLinee><NumeroLinea>1</NumeroLinea><Descrizione>Consulenza</Descrizione>
        <PrezzoUnitario>100.00</PrezzoUnitario><PrezzoTotale>100.00</PrezzoTotale>
        <AliquotaIVA>22.00</AliquotaIVA></DettaglioLinee>
      <DatiRiepilogo><AliquotaIVA>22.00</AliquotaIVA><ImponibileImporto>100.00</ImponibileImporto>
        <Imposta>22.00</Imposta></DatiRiepilogo>
    </DatiBeniServizi>
  </FatturaElettronicaBody>
</p:FatturaElettronica>
""".encode()


_names = iter(f"IT{SELLER_PIVA}_{index:05d}.xml" for index in range(1, 100_000))


def file_name() -> str:
    return next(_names)


@pytest.fixture
def simulator(clock: FakeClock) -> SdiSimulator:
    return SdiSimulator(processing_delay=PROCESSING_DELAY, clock=clock)


@pytest.fixture
async def http(simulator: SdiSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with govsim_client(CountrySimulators(sdi=simulator)) as client:
        yield client


async def send(http: httpx.AsyncClient, content: bytes, name: str | None = None) -> int:
    response = await http.post(
        "/sdi/files",
        json={"nomeFile": name or file_name(), "file": base64.b64encode(content).decode()},
    )
    identificativo: int = simtools.answered(response, 200, "identificativoSdI")
    return identificativo


async def notifications(http: httpx.AsyncClient, identificativo: int) -> list[dict[str, Any]]:
    response = await http.get(f"/sdi/files/{identificativo}/notifications")
    found: list[dict[str, Any]] = simtools.answered(response, 200, "notifiche")
    return found


async def outcome(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes, name: str | None = None
) -> dict[str, Any]:
    identificativo = await send(http, content, name)
    clock.advance(PROCESSING_DELAY)
    [notification] = await notifications(http, identificativo)
    return notification


def parsed(notification: dict[str, Any]) -> etree._Element:
    return etree.fromstring(notification["xml"].encode())


def error_codes(notification: dict[str, Any]) -> list[str]:
    return [code.text or "" for code in parsed(notification).iterfind("ListaErrori/Errore/Codice")]


# --- delivery --------------------------------------------------------------------------------


async def test_valid_file_is_received_then_delivered_with_an_rc(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    name = f"IT{SELLER_PIVA}_A0001.xml"
    response = await http.post(
        "/sdi/files",
        json={"nomeFile": name, "file": base64.b64encode(fattura()).decode()},
    )
    body = response.json()
    assert set(body) == {"identificativoSdI", "dataOraRicezione", "nomeFile"}
    identificativo = body["identificativoSdI"]
    assert await notifications(http, identificativo) == []

    clock.advance(PROCESSING_DELAY)
    [rc] = await notifications(http, identificativo)
    assert rc["tipo"] == "RC"
    assert rc["nomeFile"] == f"IT{SELLER_PIVA}_A0001_RC_001.xml"
    assert set(rc) == {"tipo", "nomeFile", "dataOraRicezione", "messageId", "xml"}
    receipt = parsed(rc)
    assert etree.QName(receipt) == etree.QName(MESSAGGI_NS, "RicevutaConsegna")
    assert receipt.get("versione") == "1.0"
    assert receipt.findtext("IdentificativoSdI") == str(identificativo)
    assert receipt.findtext("NomeFile") == name
    assert receipt.findtext("DataOraConsegna")
    assert receipt.findtext("Destinatario/Codice") == "ABC1234"
    assert receipt.findtext("MessageId") == rc["messageId"]


async def test_multipart_upload_is_accepted_like_json(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    name = file_name()
    response = await http.post(
        "/sdi/files", files={"file": (name, fattura(numero="MP1"), "application/xml")}
    )
    assert response.status_code == 200, response.text
    assert response.json()["nomeFile"] == name
    clock.advance(PROCESSING_DELAY)
    [rc] = await notifications(http, response.json()["identificativoSdI"])
    assert rc["tipo"] == "RC"

    missing = await http.post("/sdi/files", files={"other": ("x.xml", b"<a/>")})
    assert missing.status_code == 400


async def test_no_channel_b2b_invoice_is_mc_then_counts_as_issued(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    mc = await outcome(http, clock, fattura(codice_destinatario="0000000", numero="7"))
    assert mc["tipo"] == "MC"
    assert etree.QName(parsed(mc)).localname == "NotificaMancataConsegna"
    # Issued despite MC: the same invoice again is a duplicate.
    duplicate = await outcome(http, clock, fattura(codice_destinatario="0000000", numero="7"))
    assert error_codes(duplicate) == ["00404"]


async def test_empty_file_is_refused_at_once(http: httpx.AsyncClient) -> None:
    response = await http.post("/sdi/files", json={"nomeFile": file_name(), "file": ""})
    assert response.json() == {"errore": "EI01", "descrizione": "FILE VUOTO"}
    bad_base64 = await http.post("/sdi/files", json={"nomeFile": file_name(), "file": "@@"})
    assert bad_base64.status_code == 400


# --- rejections ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "name", "code"),
    [
        (fattura(), "fattura.xml", "00001"),
        (fattura(), f"IT{SELLER_PIVA}_00001.xml.p7m", "00102"),
        (b"<p:FatturaElettronica", None, "00200"),
        (
            b'<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>',
            None,
            "00200",
        ),
        (fattura(versione="FPR13"), None, "00200"),
        (fattura(formato="FPA12"), None, "00428"),
        (fattura(codice_destinatario="ABC123"), None, "00427"),
        (fattura(codice_destinatario="abc-12?"), None, "00311"),
        (fattura(pec="cliente@pec.it"), None, "00426"),
        (fattura(seller="01234567890"), None, "00301"),
        (fattura(buyer="09876543210"), None, "00305"),
        (fattura(buyer=""), None, "00417"),
    ],
    ids=[
        "bad-name",
        "signed-file",
        "not-xml",
        "not-fatturapa",
        "bad-versione",
        "formato-mismatch",
        "pa-code-on-b2b",
        "bad-codice-destinatario",
        "pec-with-code",
        "bad-seller-piva",
        "bad-buyer-piva",
        "no-buyer-id",
    ],
)
async def test_each_failing_check_is_an_ns_with_its_code(
    http: httpx.AsyncClient, clock: FakeClock, content: bytes, name: str | None, code: str
) -> None:
    ns = await outcome(http, clock, content, name)
    assert ns["tipo"] == "NS"
    scarto = parsed(ns)
    assert etree.QName(scarto).localname == "NotificaScarto"
    assert code in error_codes(ns)
    descriptions = [item.text or "" for item in scarto.iterfind("ListaErrori/Errore/Descrizione")]
    assert all(descriptions)


async def test_duplicate_file_name_and_duplicate_invoice(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    name = file_name()
    assert (await outcome(http, clock, fattura(numero="D1"), name))["tipo"] == "RC"
    same_name = await outcome(http, clock, fattura(numero="D2"), name)
    assert error_codes(same_name) == ["00002"]
    same_invoice = await outcome(http, clock, fattura(numero="D1"))
    assert error_codes(same_invoice) == ["00404"]
    # A refused file's invoice was never issued: sending it again under a new name works.
    assert (await outcome(http, clock, fattura(numero="D2")))["tipo"] == "RC"


@pytest.mark.parametrize(
    "payload", hostile_xml("FatturaElettronica", FATTURA_NS), ids=HOSTILE_XML_IDS
)
async def test_hostile_xml_is_refused_without_expansion(
    http: httpx.AsyncClient, clock: FakeClock, payload: bytes
) -> None:
    ns = await outcome(http, clock, payload)
    assert error_codes(ns) == ["00200"]
    assert "DOCTYPE" in ns["xml"]
    assert "root:" not in ns["xml"]
    assert len(ns["xml"]) < 1_000


# --- public administration -------------------------------------------------------------------


async def test_pa_invoice_esito_is_relayed_as_ne(http: httpx.AsyncClient, clock: FakeClock) -> None:
    identificativo = await send(
        http, fattura(versione="FPA12", codice_destinatario="UFABCD", numero="PA1")
    )
    early = await http.post(f"{CONTROL}/files/{identificativo}/esito", json={"esito": "EC01"})
    assert early.status_code == 409  # not delivered yet
    clock.advance(PROCESSING_DELAY)
    refused = await http.post(
        f"{CONTROL}/files/{identificativo}/esito",
        json={"esito": "EC02", "descrizione": "Importo errato"},
    )
    assert refused.status_code == 200
    rc, ne = await notifications(http, identificativo)
    assert (rc["tipo"], ne["tipo"]) == ("RC", "NE")
    esito = parsed(ne)
    assert esito.findtext("EsitoCommittente/Esito") == "EC02"
    assert esito.findtext("EsitoCommittente/Descrizione") == "Importo errato"
    assert esito.findtext("EsitoCommittente/RiferimentoFattura/NumeroFattura") == "PA1"
    again = await http.post(f"{CONTROL}/files/{identificativo}/esito", json={"esito": "EC01"})
    assert again.status_code == 409
    clock.advance(20 * DAY)
    assert [item["tipo"] for item in await notifications(http, identificativo)] == ["RC", "NE"]


async def test_pa_silence_for_fifteen_days_brings_dt(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    identificativo = await send(
        http, fattura(versione="FPA12", codice_destinatario="UFABCD", numero="PA2")
    )
    clock.advance(PROCESSING_DELAY + 15 * DAY - 1)
    assert [item["tipo"] for item in await notifications(http, identificativo)] == ["RC"]
    clock.advance(1)
    _, dt = await notifications(http, identificativo)
    assert dt["tipo"] == "DT"
    assert parsed(dt).findtext("RiferimentoFattura/NumeroFattura") == "PA2"
    late = await http.post(f"{CONTROL}/files/{identificativo}/esito", json={"esito": "EC01"})
    assert late.status_code == 409


async def test_pa_not_delivered_brings_at_after_ten_days(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    await http.post(f"{CONTROL}/next-outcomes", json={"tipo": "MC"})
    identificativo = await send(
        http, fattura(versione="FPA12", codice_destinatario="UFABCD", numero="PA3")
    )
    clock.advance(PROCESSING_DELAY + 10 * DAY)
    mc, at = await notifications(http, identificativo)
    assert (mc["tipo"], at["tipo"]) == ("MC", "AT")
    assert etree.QName(parsed(at)).localname == "AttestazioneTrasmissioneFattura"


# --- controls, limits, faults ----------------------------------------------------------------


async def test_forced_outcome_of_the_next_file(http: httpx.AsyncClient, clock: FakeClock) -> None:
    queued = await http.post(
        f"{CONTROL}/next-outcomes",
        json={"tipo": "NS", "errori": [{"codice": "00423", "descrizione": "PrezzoTotale errato"}]},
    )
    assert queued.json() == {"queued": 1}
    ns = await outcome(http, clock, fattura(numero="F1"))
    assert error_codes(ns) == ["00423"]
    assert (await outcome(http, clock, fattura(numero="F2")))["tipo"] == "RC"


async def test_rate_limit_answers_429_with_retry_after(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    assert (
        await http.put(f"{CONTROL}/rate-limit", json={"requests_per_minute": 2})
    ).status_code == 204
    await send(http, fattura(numero="R1"))
    await send(http, fattura(numero="R2"))
    limited = await http.post(
        "/sdi/files",
        json={"nomeFile": file_name(), "file": base64.b64encode(fattura()).decode()},
    )
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "60"
    clock.advance(60)
    await send(http, fattura(numero="R3"))


async def test_injected_faults_and_lost_response(http: httpx.AsyncClient, clock: FakeClock) -> None:
    await queue_every_fault(http, CONTROL, path_contains="/sdi/files")
    body = {"nomeFile": file_name(), "file": base64.b64encode(fattura(numero="L1")).decode()}
    statuses = [(await http.post("/sdi/files", json=body)).status_code for _ in range(4)]
    assert statuses == EVERY_FAULT_STATUS
    # The lost response registered the file: resending the same name is now a duplicate.
    clock.advance(PROCESSING_DELAY)
    files = (await http.get(f"{CONTROL}/files")).json()
    assert [(item["nomeFile"], item["notifiche"]) for item in files] == [(body["nomeFile"], ["RC"])]
    resent = await send(http, fattura(numero="L1"), body["nomeFile"])
    clock.advance(PROCESSING_DELAY)
    [ns] = await notifications(http, resent)
    assert error_codes(ns) == ["00002"]


async def test_controls_decide_reset_and_unknown_ids(http: httpx.AsyncClient) -> None:
    identificativo = await send(http, fattura(numero="C1"))
    decided = await http.post(f"{CONTROL}/files/{identificativo}/decide")
    assert decided.json()["esito"] == "RC"
    assert (await http.get("/sdi/files/1/notifications")).status_code == 404
    assert (await http.post(f"{CONTROL}/reset")).status_code == 204
    assert (await http.get(f"{CONTROL}/files")).json() == []
    assert (await http.get(f"/sdi/files/{identificativo}/notifications")).status_code == 404


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env({"GOVSIM_IT_PROCESSING_DELAY": "0.1"})
    assert settings.it_processing_delay == 0.1


# --- looking a file up by name, and Clearway's sandbox scenarios -----------------------------


async def test_files_are_listed_by_name_from_receipt_oldest_first(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    name = file_name()
    first = await send(http, fattura(numero="N1"), name)
    listed = (await http.get("/sdi/files", params={"nomeFile": name})).json()["files"]
    assert [item["identificativoSdI"] for item in listed] == [first]  # before any decision
    assert listed[0]["nomeFile"] == name
    second = await send(http, fattura(numero="N2"), name)
    clock.advance(PROCESSING_DELAY)
    listed = (await http.get("/sdi/files", params={"nomeFile": name})).json()["files"]
    assert [item["identificativoSdI"] for item in listed] == [first, second]
    assert error_codes((await notifications(http, second))[0]) == ["00002"]
    unknown = await http.get("/sdi/files", params={"nomeFile": file_name()})
    assert unknown.json() == {"files": []}
    assert (await http.get("/sdi/files")).status_code == 422  # nomeFile is required


def _scenario(name: str, invoice_id: str) -> dict[str, str]:
    return {"X-Clearway-Sandbox-Scenario": name, "X-Clearway-Invoice-Id": invoice_id}


async def _send_as(http: httpx.AsyncClient, headers: dict[str, str], name: str) -> httpx.Response:
    body = {"nomeFile": name, "file": base64.b64encode(fattura(numero=name)).decode()}
    return await http.post("/sdi/files", json=body, headers=headers)


async def test_reject_scenario_ends_in_an_ns_on_the_buyers_idcodice(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    answer = await _send_as(http, _scenario("reject", "inv_r"), file_name())
    clock.advance(PROCESSING_DELAY)
    [scarto] = await notifications(http, answer.json()["identificativoSdI"])
    assert scarto["tipo"] == "NS"
    assert error_codes(scarto) == ["00305"]


async def _send_fresh(
    http: httpx.AsyncClient, scenario: str, invoice: str
) -> tuple[str, httpx.Response]:
    """A file under a new name, sent under `scenario` for `invoice`: the name, and the answer."""
    name = file_name()
    return name, await _send_as(http, _scenario(scenario, invoice), name)


async def test_token_expired_scenario_refuses_the_certificate_once_per_invoice(
    http: httpx.AsyncClient, simulator: SdiSimulator
) -> None:
    name, refused = await _send_fresh(http, "token_expired", "inv_t")
    assert refused.status_code == 401
    assert "Certificato" in refused.json()["detail"]
    assert simulator.files_named(name) == []  # refused at the door: nothing registered
    assert (await _send_as(http, _scenario("token_expired", "inv_t"), name)).status_code == 200
    assert len(simulator.files_named(name)) == 1


async def test_slow_scenario_decides_late(http: httpx.AsyncClient, clock: FakeClock) -> None:
    answer = await _send_as(http, _scenario("slow", "inv_s"), file_name())
    identificativo = answer.json()["identificativoSdI"]
    clock.advance(PROCESSING_DELAY)
    assert await notifications(http, identificativo) == []
    clock.advance(8.0)
    assert [n["tipo"] for n in await notifications(http, identificativo)] == ["RC"]


async def test_transient_and_rate_limited_scenarios_register_nothing_until_they_pass(
    http: httpx.AsyncClient, simulator: SdiSimulator
) -> None:
    name = file_name()
    statuses = [
        (await _send_as(http, _scenario("transient_error", "inv_x"), name)).status_code
        for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert len(simulator.files_named(name)) == 1
    other, limited = await _send_fresh(http, "rate_limited", "inv_y")
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "1"
    assert simulator.files_named(other) == []


async def test_timeout_scenario_registers_the_file_and_loses_the_answer(
    http: httpx.AsyncClient, simulator: SdiSimulator
) -> None:
    name, lost = await _send_fresh(http, "timeout", "inv_z")
    assert lost.status_code == 504
    assert len(simulator.files_named(name)) == 1
