"""The simulated SDI's side of a recipient's esito committente: SdIRiceviNotifica, through
which a recipient (a public administration's channel, here Clearway's) answers a FatturaPA SDI
delivered to it with a Notifica di Esito Committente (EC01 accepted / EC02 refused).

    POST /sdi/esiti     {"nomeFile": "<file>_EC_001.xml", "file": Base64 of the EC}:
                        {"esito": "ES01"} taken (SDI relays it to the supplier as NE), or
                        {"esito": "ES00", "scartoEsito": {"nomeFile", "file"}}: the Scarto
                        Esito Committente (SE) file, Scarto EN00 (not conforming) or EN01 (not
                        admissible) with a Note saying why

SDI takes an EC only on a file it delivered to that recipient, in FatturaPA FPA12 (a public
administration's: a B2B FPR12 has no esito), within 15 days of delivery (then DT has run), and
once. The codes ES00/ES01/ES02 and EN00/EN01 are SDI's; the Note texts are the simulator's.

Which files SDI delivered to the recipient's channel is what SDI's push records (`delivered`);
`POST /_sim/it/delivered-files` records one by hand, for tests and sandboxes;
`GET /_sim/it/delivered-files/{IdentificativoSdI}` shows the esito (and Descrizione) SDI took.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.guard import guarded_router
from services.govsim.it.documents import MESSAGGI_NS
from services.govsim.it.state import PA_ESITO_SECONDS, SdiSimulator
from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

ESITI = ("EC01", "EC02")
PUBLIC_ADMINISTRATION = "FPA12"
MAX_DESCRIZIONE = 255  # String255Latin
EC_FILE_NAME = re.compile(r"[A-Z]{2}[A-Za-z0-9]{1,28}_[A-Za-z0-9]{1,5}_EC_\d{3}\.xml")


@dataclass
class DeliveredFile:
    identificativo: str
    nome_file: str
    formato: str  # FPA12 / FPR12
    delivered_at: float
    esito: str | None = None
    descrizione: str | None = None  # the esito's Descrizione (why a refusal refused)


@dataclass
class DeliveredFiles:
    """The files SDI delivered to recipients' channels, by IdentificativoSdI."""

    files: dict[str, DeliveredFile] = field(default_factory=dict)

    def record(self, delivered: DeliveredFile) -> None:
        self.files[delivered.identificativo] = delivered


def _scarto(identificativo: str, code: str, note: str, message_id: int) -> bytes:
    root = etree.Element(f"{{{MESSAGGI_NS}}}ScartoEsitoCommittente", nsmap={"types": MESSAGGI_NS})
    root.set("versione", "1.0")
    for tag, text in (
        ("IdentificativoSdI", identificativo),
        ("Scarto", code),
        ("MessageId", str(message_id)),
        ("Note", note),
    ):
        etree.SubElement(root, tag).text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def esito_problem(
    ec: etree._Element, deliveries: DeliveredFiles, now: float
) -> tuple[str, str] | None:
    """(Scarto code, Note) of an EC SDI will not take; None when it takes it."""
    malformed = _format_problem(ec)
    if malformed is not None:
        return "EN00", malformed
    inadmissible = _admissibility_problem(ec, deliveries, now)
    return None if inadmissible is None else ("EN01", inadmissible)


def _format_problem(ec: etree._Element) -> str | None:
    if etree.QName(ec) != etree.QName(MESSAGGI_NS, "NotificaEsitoCommittente"):
        return "Il file non è una NotificaEsitoCommittente (messaggi v1.0)"
    if not child_text(ec, "IdentificativoSdI", {}) or child_text(ec, "Esito", {}) not in ESITI:
        return "IdentificativoSdI ed Esito (EC01 o EC02) sono obbligatori"
    if len(child_text(ec, "Descrizione", {})) > MAX_DESCRIZIONE:
        return f"Descrizione oltre {MAX_DESCRIZIONE} caratteri"
    return None


def _admissibility_problem(
    ec: etree._Element, deliveries: DeliveredFiles, now: float
) -> str | None:
    identificativo = child_text(ec, "IdentificativoSdI", {})
    delivered = deliveries.files.get(identificativo)
    if delivered is None:
        return f"IdentificativoSdI {identificativo} non recapitato a questo canale"
    if delivered.formato != PUBLIC_ADMINISTRATION:
        return (
            f"Fattura {delivered.formato} tra privati: la notifica di esito committente è "
            "prevista solo per le fatture verso la pubblica amministrazione (FPA12)"
        )
    if delivered.esito is not None:
        return f"Esito {delivered.esito} già ricevuto per il file {identificativo}"
    if now > delivered.delivered_at + PA_ESITO_SECONDS:
        return "Decorsi i termini per la notifica di esito (15 giorni dalla consegna)"
    return None


def build_sdi_esiti_router(simulator: SdiSimulator, deliveries: DeliveredFiles) -> APIRouter:
    router = guarded_router(prefix="/sdi", tag="SDI façade (IT)", faults=simulator.faults)
    message_ids = iter(range(20_000_000_000, 30_000_000_000))

    @router.post("/esiti")
    async def ricevi_notifica(request: Request) -> Response:
        """SdIRiceviNotifica: a recipient's esito committente on a file SDI delivered to it."""
        try:
            body = await request.json()
            name, content = str(body["nomeFile"]), base64.b64decode(body["file"], validate=True)
        except (ValueError, KeyError, TypeError, binascii.Error):
            return JSONResponse(
                {"detail": "nomeFile e file (Base64) obbligatori"}, HTTPStatus.BAD_REQUEST
            )
        problem: tuple[str, str] | None
        identificativo = ""
        try:
            ec = parse_untrusted_xml(content)
            identificativo = child_text(ec, "IdentificativoSdI", {})
            problem = esito_problem(ec, deliveries, simulator.clock())
        except UntrustedXmlError as error:
            problem = ("EN00", f"File non leggibile: {error.message}")
        if problem is None and not EC_FILE_NAME.fullmatch(name):
            problem = ("EN00", f"Nome file {name} non conforme (…_EC_nnn.xml)")
        if problem is not None:
            scarto = _scarto(identificativo, *problem, next(message_ids))
            stem = name.split("_EC_", 1)[0]
            return JSONResponse(
                {
                    "esito": "ES00",
                    "scartoEsito": {
                        "nomeFile": f"{stem}_SE_001.xml",
                        "file": base64.b64encode(scarto).decode(),
                    },
                }
            )
        delivered = deliveries.files[identificativo]
        delivered.esito = child_text(ec, "Esito", {})
        delivered.descrizione = child_text(ec, "Descrizione", {}) or None
        return JSONResponse({"esito": "ES01"})

    return router


class DeliveredFileRequest(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)
    identificativo: str = Field(alias="identificativoSdI", min_length=1)
    nome_file: str = Field(alias="nomeFile", min_length=1)
    formato: str = Field(pattern=r"^FP[AR]12$")
    delivered_at: float | None = Field(default=None, alias="deliveredAt")  # epoch seconds


def build_sdi_esiti_control_router(
    simulator: SdiSimulator, deliveries: DeliveredFiles
) -> APIRouter:
    """`/_sim/it/delivered-files`: what SDI delivered to a recipient's channel, by hand, and
    the esito SDI took for one (what the supplier hears as NE)."""
    router = APIRouter(prefix="/_sim/it", tags=["simulator control: SDI"])

    @router.post("/delivered-files", status_code=HTTPStatus.CREATED)
    async def delivered_file(request: DeliveredFileRequest) -> dict[str, Any]:
        at = simulator.clock() if request.delivered_at is None else request.delivered_at
        deliveries.record(
            DeliveredFile(request.identificativo, request.nome_file, request.formato, at)
        )
        return {"identificativoSdI": request.identificativo, "deliveredAt": at}

    @router.get("/delivered-files/{identificativo}", response_model=None)
    async def delivered_file_esito(identificativo: str) -> Response | dict[str, Any]:
        delivered = deliveries.files.get(identificativo)
        if delivered is None:
            return JSONResponse({"detail": "Unknown file"}, HTTPStatus.NOT_FOUND)
        return {
            "identificativoSdI": delivered.identificativo,
            "nomeFile": delivered.nome_file,
            "formato": delivered.formato,
            "esito": delivered.esito,
            "descrizione": delivered.descrizione,
        }

    return router
