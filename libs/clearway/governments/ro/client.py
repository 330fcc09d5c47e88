"""ANAF e-Factura client: upload, stareMesaj, descarcare, the message list, and parsers for what
ANAF answers; ANAF's call limits as shared rate limits.

ANAF often reports failure inside an HTTP 200 (an `Errors` element in XML, or an `eroare` field
in JSON), so every answer is parsed, never trusted by status code alone. XML is parsed with
entities, DTDs and network access off.

What a failed call means for an upload decides whether it may be sent again:
- AnafUnavailableError: ANAF took nothing (refused connection, 429, 500, 503): send again later.
- AnafOutcomeUnknownError: the upload left and its answer was lost (timeout, dropped connection,
  502/504 from the gateway, an unreadable answer): ANAF may have registered it; never send it
  again before the message list says it did not.
Every call is recorded (endpoint, HTTP status, duration) in the `calls` list the caller passes.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Mapping
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from lxml import etree
from pydantic import BaseModel, ConfigDict

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    Failures,
    GovernmentApi,
    GovernmentAuthError,
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
    first_field,
)
from clearway.formats.hardened import hardened_parser
from clearway.resilience.ratelimit import DailyQuota, TokenBucket

GOV_ENDPOINT = "ANAF e-Factura"
ROMANIA = ZoneInfo("Europe/Bucharest")  # ANAF's timestamps and its "per day" are Romanian time

# ANAF's call limits (limiteApeluriAPI.txt and its OAuth guide).
CALLS_PER_MINUTE = 1_000
STATUS_CHECKS_PER_MESSAGE_PER_DAY = 100
DOWNLOADS_PER_MESSAGE_PER_DAY = 10
PAGED_LISTS_PER_CIF_PER_DAY = 100_000


# `standard` names the schema ANAF validates the upload against, one root each: a UBL CreditNote
# uploaded as UBL (the Invoice schema) is refused ("Cannot find the declaration of element
# 'CreditNote'"), as is an Invoice uploaded as CN.
_STANDARD_OF_ROOT = {
    "CreditNote": "CN",
    "CrossIndustryInvoice": "CII",
}


def upload_standard(xml: bytes) -> str:
    """ANAF's `standard` for a document: CN for a UBL CreditNote, CII for a CII invoice, UBL
    for a UBL Invoice (and for what cannot be read: ANAF then says what is wrong with it)."""
    try:
        root = etree.fromstring(xml, parser=hardened_parser())
    except etree.XMLSyntaxError:
        return "UBL"
    return _STANDARD_OF_ROOT.get(etree.QName(root).localname, "UBL")


def calls_bucket(rest_url: str, calls_per_minute: int = CALLS_PER_MINUTE) -> TokenBucket:
    """ANAF's per-minute limit, for every replica together (one bucket per ANAF environment).

    ANAF counts over a sliding minute; a bucket admits capacity + 60·rate in any minute, so a
    tenth is the burst and the rest, less 5%, the steady rate: 100 + 855 = 955 ≤ 1000.
    """
    capacity = max(1, calls_per_minute // 10)
    per_second = max(0.95 * (calls_per_minute - capacity) / 60, 0.01)
    return TokenBucket(f"anaf:calls:{rest_url}", capacity, per_second)


def status_quota(upload_id: str) -> DailyQuota:
    return DailyQuota(f"anaf:stare:{upload_id}", STATUS_CHECKS_PER_MESSAGE_PER_DAY, ROMANIA)


def download_quota(download_id: str) -> DailyQuota:
    return DailyQuota(f"anaf:descarcare:{download_id}", DOWNLOADS_PER_MESSAGE_PER_DAY, ROMANIA)


def paged_list_quota(cif: str) -> DailyQuota:
    return DailyQuota(f"anaf:lista-paginata:{cif}", PAGED_LISTS_PER_CIF_PER_DAY, ROMANIA)


# Following uploads may spend this much of a CIF's paged lists a day (every replica's reads
# count): the rest stays for what only the list can do (the inbox, filing's reconciling, the
# buyer's response), which a busy day of status reads must never starve.
STATUS_LISTS_PER_CIF_PER_DAY = PAGED_LISTS_PER_CIF_PER_DAY * 6 // 10


def status_list_share(cif: str) -> DailyQuota:
    """The status follower's share of `paged_list_quota(cif)`, counted beside it."""
    return DailyQuota(f"anaf:lista-paginata-stari:{cif}", STATUS_LISTS_PER_CIF_PER_DAY, ROMANIA)


# --- what can go wrong -------------------------------------------------------------------------


class AnafError(GovernmentError):
    """Base of what the client raises."""


class AnafTransientError(AnafError, GovernmentTransientError):
    """Try again later; `retry_after` is ANAF's own word on when, if it gave one."""


class AnafUnavailableError(AnafTransientError):
    """ANAF did not take the call (connection refused, 429, 500, 503): nothing happened there."""


class AnafOutcomeUnknownError(AnafTransientError, GovernmentOutcomeUnknownError):
    """The call left and its answer was lost: for an upload, ANAF may have registered it."""


class AnafProtocolError(AnafTransientError):
    """ANAF answered something this client cannot read: treat as transient, retry later."""


class AnafAuthError(AnafError, GovernmentAuthError):
    """ANAF refused the token (HTTP 401 or 403)."""


class AnafRefusedError(AnafError, GovernmentRefusedError):
    """ANAF answered with an error in its own words (`eroare`, a Spring 400 message)."""


# --- answers -----------------------------------------------------------------------------------


class UploadResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    upload_id: str | None  # index_incarcare when ExecutionStatus is 0
    errors: tuple[str, ...]

    @property
    def technical_error(self) -> bool:
        """ANAF's "A aparut o eroare tehnica": nothing was registered; try again later."""
        return any(e.startswith("A aparut o eroare tehnica") for e in self.errors)


class Stare(StrEnum):
    OK = "ok"
    NOK = "nok"
    IN_PROGRESS = "in prelucrare"
    REFUSED = "XML cu erori nepreluat de sistem"


class StatusResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    stare: Stare | None  # None when ANAF answered only errors (quota, rights)
    download_id: str | None
    errors: tuple[str, ...]


class MessageKind(StrEnum):
    """`tip` of a row of the message lists."""

    SENT = "FACTURA TRIMISA"
    RECEIVED = "FACTURA PRIMITA"
    ERRORS = "ERORI FACTURA"


class ListedMessage(BaseModel):
    model_config = ConfigDict(frozen=True)

    created: dt.datetime  # data_creare (minute precision, Romanian time)
    cif: str
    upload_id: str  # id_solicitare: the index_incarcare of the upload
    download_id: str  # id
    kind: str  # tip (MessageKind, or a kind this client does not know)
    details: str


class MessagePage(BaseModel):
    model_config = ConfigDict(frozen=True)

    messages: tuple[ListedMessage, ...]
    pages: int  # 0 when ANAF has no message in the interval


def _parse_xml(content: bytes) -> etree._Element:
    try:
        return etree.fromstring(content, parser=hardened_parser())
    except etree.XMLSyntaxError as exc:
        raise AnafProtocolError(f"ANAF answered with unreadable XML: {exc}") from exc


def _error_messages(root: etree._Element) -> tuple[str, ...]:
    return tuple(
        str(element.get("errorMessage", "")).strip()
        for element in root.iter("{*}Errors", "{*}Error")
        if element.get("errorMessage")
    )


def parse_upload_response(content: bytes) -> UploadResult:
    root = _parse_xml(content)
    status = root.get("ExecutionStatus")
    upload_id = root.get("index_incarcare")
    if status == "0" and upload_id:
        return UploadResult(upload_id=upload_id, errors=())
    errors = _error_messages(root) or (f"ExecutionStatus={status} without an error message",)
    return UploadResult(upload_id=None, errors=errors)


def parse_status_response(content: bytes) -> StatusResult:
    root = _parse_xml(content)
    raw = root.get("stare")
    try:
        stare = Stare(raw) if raw is not None else None
    except ValueError as exc:
        raise AnafProtocolError(f"unknown stare {raw!r}") from exc
    return StatusResult(
        stare=stare, download_id=root.get("id_descarcare"), errors=_error_messages(root)
    )


def parse_anaf_minute(value: str) -> dt.datetime:
    """data_creare / dateResponse (YYYYMMDDHHmm, Romanian time) as an aware datetime."""
    return dt.datetime.strptime(value, "%Y%m%d%H%M").replace(tzinfo=ROMANIA)


NO_MESSAGES = "Nu exista mesaje"  # how both lists say "empty"
RECEIVED_FILTER = "P"  # filtru=P: FACTURA PRIMITA only


def parse_message_page(body: Mapping[str, Any]) -> MessagePage:
    error = body.get("eroare")
    if error:
        if str(error).startswith(NO_MESSAGES):
            return MessagePage(messages=(), pages=0)
        raise AnafRefusedError(str(error))
    try:
        messages = tuple(
            ListedMessage(
                created=parse_anaf_minute(str(row["data_creare"])),
                cif=str(row["cif"]),
                upload_id=str(row["id_solicitare"]),
                download_id=str(row["id"]),
                kind=str(row["tip"]),
                details=str(row.get("detalii", "")),
            )
            for row in body.get("mesaje") or ()
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise AnafProtocolError(f"unreadable message list: {exc}") from exc
    return MessagePage(messages=messages, pages=int(body.get("numar_total_pagini") or 1))


def downloaded_files(zip_content: bytes) -> dict[str, bytes]:
    """The files of a descarcare ZIP, the seal (`semnatura_…`) left out."""
    try:
        with zipfile.ZipFile(io.BytesIO(zip_content)) as archive:
            return {
                name: archive.read(name)
                for name in archive.namelist()
                if not name.startswith("semnatura_")
            }
    except zipfile.BadZipFile as exc:
        raise AnafProtocolError("ANAF's download is not a ZIP") from exc


def error_report_messages(zip_content: bytes) -> tuple[str, ...]:
    """The `Error` messages of the error report inside a `nok` download."""
    messages: list[str] = []
    for content in downloaded_files(zip_content).values():
        messages.extend(_error_messages(_parse_xml(content)))
    return tuple(messages)


# --- the client --------------------------------------------------------------------------------


FAILURES = Failures(
    government="ANAF",
    country="RO",
    unavailable=AnafUnavailableError,
    outcome_unknown=AnafOutcomeUnknownError,
    auth=AnafAuthError,
    refused=AnafRefusedError,
    refusal_text=first_field("message", "eroare"),
)


class AnafClient(GovernmentApi):
    """One per process; `rest_url` is …/FCTEL/rest of the test or prod environment."""

    def __init__(self, rest_url: str, http: httpx.AsyncClient) -> None:
        super().__init__(rest_url, http, FAILURES)

    async def _send(  # noqa: PLR0913 - one HTTP call and where to record it
        self,
        method: str,
        path: str,
        *,
        token: str,
        calls: list[GovCall] | None,
        params: Mapping[str, str],
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        return await self._call(
            method,
            f"/{path}",
            endpoint=f"{method} /{path}",
            calls=calls,
            token=token,
            params=dict(params),
            content=content,
            headers=headers,
        )

    async def upload(  # noqa: PLR0913 - the upload's parameters, all named
        self,
        xml: bytes,
        *,
        cif: str,
        token: str,
        standard: str | None = None,
        headers: Mapping[str, str] | None = None,
        calls: list[GovCall] | None = None,
    ) -> UploadResult:
        """Upload a document under `cif`; `standard` defaults to the one its root calls for."""
        response = await self._send(
            "POST",
            "upload",
            token=token,
            calls=calls,
            params={"standard": standard or upload_standard(xml), "cif": cif},
            content=xml,
            headers={"Content-Type": "text/plain", **(headers or {})},
        )
        try:
            return parse_upload_response(response.content)
        except AnafProtocolError as exc:
            # An unreadable answer to an upload does not say that nothing was registered.
            raise AnafOutcomeUnknownError(str(exc)) from exc

    async def status(
        self, upload_id: str, *, token: str, calls: list[GovCall] | None = None
    ) -> StatusResult:
        response = await self._send(
            "GET", "stareMesaj", token=token, calls=calls, params={"id_incarcare": upload_id}
        )
        return parse_status_response(response.content)

    async def download(
        self, download_id: str, *, token: str, calls: list[GovCall] | None = None
    ) -> bytes:
        response = await self._send(
            "GET", "descarcare", token=token, calls=calls, params={"id": download_id}
        )
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            raise AnafRefusedError(str(body.get("eroare", body)))
        return response.content

    async def list_messages(  # noqa: PLR0913 - the list's parameters, all named
        self,
        *,
        cif: str,
        start: dt.datetime,
        end: dt.datetime,
        page: int,
        token: str,
        list_filter: str | None = None,
        calls: list[GovCall] | None = None,
    ) -> MessagePage:
        """listaMesajePaginatieFactura: one page of the messages created between start and end."""
        params = {
            "startTime": str(int(start.timestamp() * 1000)),
            "endTime": str(int(end.timestamp() * 1000)),
            "cif": cif,
            "pagina": str(page),
        }
        if list_filter is not None:
            params["filtru"] = list_filter
        response = await self._send(
            "GET", "listaMesajePaginatieFactura", token=token, calls=calls, params=params
        )
        try:
            body = response.json()
        except ValueError as exc:
            raise AnafProtocolError("the message list is not JSON") from exc
        return parse_message_page(body)

    async def list_received(
        self, *, cif: str, start: dt.datetime, end: dt.datetime, page: int, token: str
    ) -> MessagePage:
        """One page of the invoices `cif` received (FACTURA PRIMITA) between start and end: what
        the inbox reads, and where the buyer's responder finds an invoice's upload index."""
        return await self.list_messages(
            cif=cif, start=start, end=end, page=page, token=token, list_filter=RECEIVED_FILTER
        )
