"""Italy's Sistema di Interscambio (SDI): send a FatturaPA file, read its notifications.

Real SDI speaks SOAP (SDICoop: SdIRiceviFile to send; the transmitter's own RicezioneNotifiche
endpoint receives what SDI pushes back), SFTP or PEC, behind channel accreditation and a TLS
client certificate (GOVERNMENTS.md §3). Clearway talks to a REST façade with the same message
semantics (services/govsim/it/ is the sandbox's):

    POST /files                        SdIRiceviFile: {"nomeFile", "file" (Base64)} →
                                       {"identificativoSdI", "dataOraRicezione", "nomeFile"},
                                       or {"errore": "EI01", …} when SDI took nothing
    GET  /files/{identificativoSdI}/notifications   what SDI sent about the file: RC, NS, MC, …
    GET  /files?nomeFile=              the files received under that name
    POST /esiti                        SdIRiceviNotifica: a recipient's esito committente (EC)
                                       {"nomeFile", "file"} → {"esito": "ES01"} taken, "ES00"
                                       with "scartoEsito" {"nomeFile", "file"} (the SE), or
                                       "ES02" service unavailable

SDI pushes notifications; it offers no call to list them. The two GETs stand in for Clearway's
notification receiver, which records every pushed notification with its NomeFile and
IdentificativoSdI: on SDICoop they read that record. The file name is the key: SDI refuses a
second file with a name it has seen (NS 00002), so a file sent again under its first name can
never be filed twice.

No tokens: the channel is authenticated by the connection's certificate (`client_tls`). SDI
publishes no call limit. Failures are sorted as for every government (calls.py).
"""

from __future__ import annotations

import base64
import contextlib
import os
import ssl
import tempfile
from dataclasses import dataclass
from typing import Any

import httpx
from lxml import etree

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentApi,
    GovernmentError,
    GovernmentRefusedError,
    GovernmentUnavailableError,
    first_field,
    government_failures,
)
from clearway.formats.hardened import hardened_parser

GOV_ENDPOINT = "SDI"
SEND = "POST /files"
NOTIFICATIONS = "GET /files/{id}/notifications"
FILES_BY_NAME = "GET /files?nomeFile"
# SdIRiceviFile's ErroreInvio: EI01 file vuoto, EI02 servizio non disponibile (took nothing:
# try again), EI03 utente non abilitato.
SERVICE_UNAVAILABLE = "EI02"


class SdiUnknownFileError(GovernmentError):
    """SDI has no file with that IdentificativoSdI."""


FAILURES = government_failures("SDI", "IT", first_field("detail", "descrizione"))


@dataclass(frozen=True)
class ReceivedFile:
    """SdIRiceviFile's answer: SDI registered the file under this identifier."""

    identificativo: str
    name: str
    received_at: str


@dataclass(frozen=True)
class Notification:
    tipo: str  # RC, NS, MC, NE, DT, AT
    name: str  # the notification file's name, IT…_RC_001.xml
    xml: bytes

    def errors(self) -> tuple[str, ...]:
        """An NS's errors in SDI's words, "<Codice>: <Descrizione>" each."""
        root = _parse(self.xml)
        return tuple(
            f"{(item.findtext('Codice') or '').strip()}: "
            f"{(item.findtext('Descrizione') or '').strip()}"
            for item in root.iterfind("ListaErrori/Errore")
        )

    def text(self, tag: str) -> str:
        """A field of the notification (DataOraConsegna, Descrizione, Destinatario/Codice…)."""
        return (_parse(self.xml).findtext(tag) or "").strip()


@dataclass(frozen=True)
class EsitoAnswer:
    """SdIRiceviNotifica's answer: ES01 taken; ES00 refused, with SDI's scarto (SE) file."""

    esito: str
    scarto_name: str | None = None
    scarto: bytes | None = None


def _parse(xml: bytes) -> etree._Element:
    return etree.fromstring(xml, hardened_parser())


def _received(body: dict[str, Any]) -> ReceivedFile:
    return ReceivedFile(
        identificativo=str(body["identificativoSdI"]),
        name=str(body.get("nomeFile", "")),
        received_at=str(body.get("dataOraRicezione", "")),
    )


class SdiClient(GovernmentApi):
    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        super().__init__(base_url, http, FAILURES)

    async def send_file(
        self,
        name: str,
        content: bytes,
        *,
        calls: list[GovCall] | None = None,
        headers: dict[str, str] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> ReceivedFile:
        """SdIRiceviFile; `http` carries the channel's client certificate."""
        response = await self._call(
            "POST",
            "/files",
            endpoint=SEND,
            calls=calls,
            http=http,
            json={"nomeFile": name, "file": base64.b64encode(content).decode()},
            headers=headers or {},
        )
        body = response.json()
        if "errore" in body:  # ErroreInvio: SDI registered nothing
            text = f"{body['errore']}: {body.get('descrizione', '')}".strip()
            if body["errore"] == SERVICE_UNAVAILABLE:
                raise GovernmentUnavailableError(f"SDI: {text}")
            raise GovernmentRefusedError(text)
        return _received(body)

    async def send_esito(
        self,
        name: str,
        content: bytes,
        calls: list[GovCall] | None = None,
        *,
        http: httpx.AsyncClient | None = None,
    ) -> EsitoAnswer:
        """SdIRiceviNotifica: the recipient's esito committente on a file SDI delivered to it
        (`http` carries the recipient channel's client certificate); ES02 (service unavailable:
        nothing was taken) is GovernmentUnavailableError."""
        response = await self._call(
            "POST",
            "/esiti",
            endpoint="POST /esiti",
            calls=calls,
            http=http,
            json={"nomeFile": name, "file": base64.b64encode(content).decode()},
        )
        body = response.json()
        if body.get("esito") == "ES02":
            raise GovernmentUnavailableError("SDI: ES02 servizio non disponibile")
        scarto = body.get("scartoEsito") or {}
        return EsitoAnswer(
            esito=str(body.get("esito", "")),
            scarto_name=scarto.get("nomeFile"),
            scarto=base64.b64decode(scarto["file"]) if scarto.get("file") else None,
        )

    async def notifications(
        self, identificativo: str, calls: list[GovCall] | None = None
    ) -> list[Notification]:
        try:
            response = await self._call(
                "GET",
                f"/files/{identificativo}/notifications",
                endpoint=NOTIFICATIONS,
                calls=calls,
            )
        except GovernmentRefusedError as exc:
            raise SdiUnknownFileError(exc.message) from None
        return [
            Notification(
                tipo=str(item["tipo"]), name=str(item["nomeFile"]), xml=str(item["xml"]).encode()
            )
            for item in response.json().get("notifiche") or ()
        ]

    async def files_named(
        self, name: str, calls: list[GovCall] | None = None
    ) -> list[ReceivedFile]:
        """The files SDI received under `name`, oldest first: at most one is ever issued."""
        response = await self._call(
            "GET", "/files", endpoint=FILES_BY_NAME, calls=calls, params={"nomeFile": name}
        )
        return [_received(item) for item in response.json().get("files") or ()]


def client_tls(
    certificate_pem: str, private_key_pem: str, *, ca_file: str | None = None
) -> ssl.SSLContext:
    """A TLS context presenting the SDI channel's certificate (SDICoop authenticates by it),
    trusting `ca_file` for SDI's own certificate (None: the system's trust store).

    The ssl module loads a certificate chain only from files: they live in a private directory
    for the moment of loading and are gone before this returns."""
    context = ssl.create_default_context(cafile=ca_file)
    with tempfile.TemporaryDirectory(prefix="clearway-sdi-") as folder:
        path = os.path.join(folder, "channel.pem")  # noqa: PTH118 - a plain path for ssl
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(certificate_pem)
            file.write("\n")
            file.write(private_key_pem)
        try:
            context.load_cert_chain(path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)  # noqa: PTH107
    return context
