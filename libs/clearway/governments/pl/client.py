"""KSeF 2.0 interactive sessions (GOVERNMENTS.md §2, ksef-docs sesja-interaktywna.md): send an
FA(3) invoice encrypted for the Ministry, follow its status, fetch its UPO.

    POST /sessions/online                      formCode FA (3) 1-0E, the AES-256 key under the
                                               Ministry's SymmetricKeyEncryption key (RSA-OAEP)
    POST /sessions/online/{ref}/invoices       the invoice, AES-256-CBC, with SHA-256 hashes
    POST /sessions/online/{ref}/close          the session's UPO is prepared
    GET  /sessions/{ref}/invoices              every invoice of the session (paged)
    GET  /sessions/{ref}/invoices/{invRef}     its status: 100/150 processing, 200, or an error
    GET  /sessions/{ref}/invoices/{invRef}/upo the UPO (XAdES-signed XML) once accepted

The encryption is ksef-client's. The session's AES key stays in this process's memory with the
open session it belongs to (sessions.py), for the seller's next invoices.
Failures are sorted as for every government (clearway.connectors.calls).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import httpx
from ksef_client.services.crypto import build_encryption_data, build_send_invoice_request
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
    refusal_reader,
)
from clearway.resilience.ratelimit import TokenBucket

GOV_ENDPOINT = "KSeF"
FA3_FORM_CODE = {"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"}
SYMMETRIC_KEY_ENCRYPTION = "SymmetricKeyEncryption"
PROCESSING = frozenset({100, 150})
ACCEPTED = 200


class KsefError(GovernmentError):
    """Base of what the session client raises."""


class KsefTransientError(KsefError, GovernmentTransientError):
    """Try again later; `retry_after` is KSeF's own word on when, if it gave one."""


class KsefUnavailableError(KsefTransientError):
    """KSeF took nothing (refused connection, 429, 500, 503)."""


class KsefOutcomeUnknownError(KsefTransientError, GovernmentOutcomeUnknownError):
    """The call left and its answer was lost: KSeF may have taken the invoice."""


class KsefAuthError(KsefError, GovernmentAuthError):
    """KSeF refused the token (HTTP 401 or 403)."""


class KsefRefusedError(KsefError, GovernmentRefusedError):
    """KSeF refused the request in its own words (an ExceptionResponse or problem details)."""


def _refusal_text(body: Any) -> str:
    details = ((body or {}).get("exception") or {}).get("exceptionDetailList") or []
    texts = [
        " ".join(
            str(part)
            for part in (
                d.get("exceptionCode"),
                d.get("exceptionDescription"),
                *d.get("details", []),
            )
            if part
        )
        for d in details
        if isinstance(d, dict)
    ]
    return "; ".join(texts) or str(body.get("detail") or body)


FAILURES = Failures(
    government="KSeF",
    country="PL",
    unavailable=KsefUnavailableError,
    outcome_unknown=KsefOutcomeUnknownError,
    auth=KsefAuthError,
    refused=KsefRefusedError,
    refusal_text=refusal_reader(_refusal_text),
    auth_statuses=(401,),
)


class InvoiceStatus(BaseModel):
    model_config = ConfigDict(frozen=True)

    reference_number: str
    code: int
    description: str
    details: tuple[str, ...]
    ksef_number: str | None
    invoice_hash: str | None

    @property
    def processing(self) -> bool:
        return self.code in PROCESSING

    def message(self) -> str:
        """The status in KSeF's words: "<code> <description>: <details>"."""
        text = f"{self.code} {self.description}"
        return f"{text}: {'; '.join(self.details)}" if self.details else text


def _status(body: dict[str, Any]) -> InvoiceStatus:
    status = body.get("status") or {}
    return InvoiceStatus(
        reference_number=str(body.get("referenceNumber", "")),
        code=int(status.get("code", 0)),
        description=str(status.get("description", "")),
        details=tuple(str(d) for d in status.get("details") or ()),
        ksef_number=body.get("ksefNumber"),
        invoice_hash=body.get("invoiceHash"),
    )


class SentInvoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    session_reference: str
    invoice_reference: str


@dataclass(frozen=True)
class OpenedSession:
    reference: str
    encryption: Any  # the session's AES key and IV (ksef-client's EncryptionData)
    valid_until: dt.datetime | None  # KSeF closes the session itself then (12 hours on)


_SENT_INVOICE = "/sessions/{ref}/invoices/{invRef}"


class KsefSessionClient(GovernmentApi):
    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        super().__init__(base_url, http, FAILURES)
        self._key: tuple[str, str | None] | None = None  # the Ministry's key, read once

    async def _symmetric_key_certificate(
        self, calls: list[GovCall] | None
    ) -> tuple[str, str | None]:
        if self._key is None:
            response = await self._at(
                "GET", "/security/public-key-certificates", token=None, calls=calls
            )
            for key in response.json():
                if SYMMETRIC_KEY_ENCRYPTION in (key.get("usage") or []):
                    self._key = (str(key["certificate"]), key.get("publicKeyId"))
                    break
            else:
                raise KsefUnavailableError("KSeF published no SymmetricKeyEncryption key")
        return self._key

    async def open_session(self, token: str, calls: list[GovCall] | None = None) -> OpenedSession:
        """A new online session for FA(3): its reference, the encryption to send with, and
        KSeF's validUntil."""
        certificate, public_key_id = await self._symmetric_key_certificate(calls)
        encryption = build_encryption_data(certificate, public_key_id=public_key_id)
        assert encryption.encryption_info is not None  # built with a certificate
        response = await self._at(
            "POST",
            "/sessions/online",
            token=token,
            calls=calls,
            json={"formCode": FA3_FORM_CODE, "encryption": encryption.encryption_info.to_dict()},
        )
        body = response.json()
        valid_until = body.get("validUntil")
        return OpenedSession(
            reference=str(body["referenceNumber"]),
            encryption=encryption,
            valid_until=_aware(dt.datetime.fromisoformat(valid_until)) if valid_until else None,
        )

    async def send_invoice(  # noqa: PLR0913 - the session, what to send, where to record
        self,
        token: str,
        session_reference: str,
        encryption: Any,
        xml: bytes,
        *,
        calls: list[GovCall] | None = None,
        headers: dict[str, str] | None = None,
    ) -> SentInvoice:
        request = build_send_invoice_request(xml, encryption.key, encryption.iv)
        response = await self._at(
            "POST",
            "/sessions/online/{ref}/invoices",
            ref=session_reference,
            token=token,
            calls=calls,
            json={**request.to_dict(), "offlineMode": False},
            headers=headers or {},
        )
        return SentInvoice(
            session_reference=session_reference,
            invoice_reference=str(response.json()["referenceNumber"]),
        )

    async def close_session(
        self, token: str, session_reference: str, calls: list[GovCall] | None = None
    ) -> None:
        await self._at(
            "POST", "/sessions/online/{ref}/close", ref=session_reference, token=token, calls=calls
        )

    async def session_invoices(
        self, token: str, session_reference: str, calls: list[GovCall] | None = None
    ) -> list[InvoiceStatus]:
        """Every invoice KSeF received in the session, page after page."""
        found: list[InvoiceStatus] = []
        continuation: str | None = None
        while True:
            response = await self._at(
                "GET",
                "/sessions/{ref}/invoices",
                ref=session_reference,
                token=token,
                calls=calls,
                params={"pageSize": "100"},
                headers={"x-continuation-token": continuation} if continuation else {},
            )
            body = response.json()
            found.extend(_status(invoice) for invoice in body.get("invoices") or ())
            continuation = body.get("continuationToken")
            if not continuation:
                return found

    async def invoice_status(
        self, token: str, sent: SentInvoice, calls: list[GovCall] | None = None
    ) -> InvoiceStatus:
        response = await self._at(
            "GET",
            _SENT_INVOICE,
            ref=sent.session_reference,
            inv_ref=sent.invoice_reference,
            token=token,
            calls=calls,
        )
        return _status(response.json())

    async def invoice_upo(
        self, token: str, sent: SentInvoice, calls: list[GovCall] | None = None
    ) -> bytes:
        response = await self._at(
            "GET",
            f"{_SENT_INVOICE}/upo",
            ref=sent.session_reference,
            inv_ref=sent.invoice_reference,
            token=token,
            calls=calls,
        )
        return response.content

    async def _at(  # noqa: PLR0913 - the call, its path's parts, where to record it
        self,
        method: str,
        template: str,
        *,
        token: str | None,
        calls: list[GovCall] | None,
        ref: str = "",
        inv_ref: str = "",
        **request: Any,
    ) -> httpx.Response:
        """A call to `template` with the session's `ref` (and the invoice's `inv_ref`) filled
        in, recorded as the template: "GET /sessions/{ref}/invoices"."""
        return await self._call(
            method,
            template.format(ref=ref, invRef=inv_ref),
            endpoint=f"{method} {template}",
            token=token,
            calls=calls,
            **request,
        )


class KsefInvoicesClient(GovernmentApi):
    """KSeF's repository, as a buyer reads it (ksef-docs pobieranie-faktur):

    POST /invoices/query/metadata    one page of the InvoiceMetadata matching the filters
    GET  /invoices/ksef/{ksefNumber} one invoice's XML, as its seller sent it
    """

    def __init__(self, base_url: str, http: httpx.AsyncClient) -> None:
        super().__init__(base_url, http, FAILURES)

    async def query_metadata(
        self, token: str, filters: dict[str, Any], *, page_offset: int, page_size: int
    ) -> dict[str, Any]:
        """One page sorted Asc by the range's date: {hasMore, isTruncated,
        permanentStorageHwmDate, invoices}."""
        response = await self._call(
            "POST",
            "/invoices/query/metadata",
            endpoint="POST /invoices/query/metadata",
            calls=None,
            token=token,
            params={"sortOrder": "Asc", "pageOffset": str(page_offset), "pageSize": str(page_size)},
            json=filters,
        )
        body: dict[str, Any] = response.json()
        return body

    async def invoice(self, token: str, ksef_number: str) -> bytes:
        response = await self._call(
            "GET",
            f"/invoices/ksef/{ksef_number}",
            endpoint="GET /invoices/ksef/{ksefNumber}",
            calls=None,
            token=token,
        )
        return response.content


# KSeF's documented limits per context (NIP) and IP address, as shared token buckets: each
# bucket's burst plus its rate over a minute and over an hour stays within both windows.
def session_bucket(nip: str) -> TokenBucket:  # onlineSession: 300/min, 1200/h
    return TokenBucket(f"ksef:sessions:{nip}", capacity=10, per_second=0.3)


def send_bucket(nip: str) -> TokenBucket:  # invoiceSend: 300/min, 1800/h
    return TokenBucket(f"ksef:send:{nip}", capacity=20, per_second=0.45)


def status_bucket(nip: str) -> TokenBucket:  # invoiceStatus and UPO: 1200/min, 7200/h
    return TokenBucket(f"ksef:status:{nip}", capacity=50, per_second=1.9)


def metadata_bucket(nip: str) -> TokenBucket:  # invoiceMetadata: 8/s, 16/min, 20/h
    return TokenBucket(f"ksef:metadata:{nip}", capacity=4, per_second=16 / 3600)


def download_bucket(nip: str) -> TokenBucket:  # invoiceDownload: 8/s, 16/min, 64/h
    return TokenBucket(f"ksef:download:{nip}", capacity=8, per_second=56 / 3600)


def _aware(moment: dt.datetime) -> dt.datetime:
    """KSeF's times carry their offset; one without is read as UTC, not compared as naive."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
