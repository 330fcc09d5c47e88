"""What submitter-it decides for one due `submissions` row.

    pending      send the file (SdIRiceviFile) under the invoice's file name, chosen once before
                 the first send and kept in the row (`gov_session`). Registered: `invoice.submitted`
                 with the IdentificativoSdI. Refused outright (empty or oversized file):
                 `invoice.error` in SDI's words, translated. Not taken (refused connection, 429,
                 500, 503): again after a backoff. Answer lost (timeout, 502/504): reconciling.
    uploading    the process died while the file was in flight: reconciling.
    reconciling  SDI registers a file as it answers; the files received under the invoice's name
                 are looked up: found, adopted (`reconciled: true`); not found, the file never
                 arrived and goes again under the same name. Were it to have arrived after all,
                 SDI would refuse the second one as a duplicate name (NS 00002): never two filings.

The channel's certificate: SDICoop authenticates the transmitter by its TLS client certificate,
which cannot be refreshed like a token. A refusal (401/403; on SDICoop a failed handshake) loads
the connection's certificate again, since a renewed one may have been uploaded meanwhile, and
sends once more; refused again, the connection becomes `expired` and the invoice `error`, asking
for a renewed certificate. SDI publishes no call limit: only the circuit breakers stand before it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from typing import Any

import httpx

from clearway.accounts.connections import expire_connection, read_secret
from clearway.config import SdiEndpoint
from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentAuthError,
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
)
from clearway.domain.connections import SecretKind
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.eventstore import Connection
from clearway.governments.it.client import (
    FILES_BY_NAME,
    GOV_ENDPOINT,
    SEND,
    ReceivedFile,
    SdiClient,
    client_tls,
)
from clearway.governments.it.document import fatturapa_filename
from clearway.pipeline.filing import (
    ClaimedSubmission,
    SubmissionGate,
    document_or_fail,
    fail_connection_lost,
    fail_inactive_connection,
    fail_refused,
    finish_uploaded,
    mark_uploading,
    record_calls,
    retry_at,
)
from clearway.runtime import ServiceContext

log = logging.getLogger(__name__)

PROGRESSIVO_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PROGRESSIVO_LENGTH = 5  # the file name's progressivo: 5 letters or digits
RECONCILE_RETRY = dt.timedelta(seconds=2)  # the lookup itself failed: ask again soon
CHANNEL_CLIENTS_KEPT = 64  # TLS clients kept open, one per channel certificate
RENEW_CERTIFICATE = (
    "Upload the channel's renewed certificate (POST /v1/connections/:id/certificate) or "
    "connect the company again (POST /v1/connections)."
)


class ChannelRefusedError(Exception):
    """SDI refused the channel's certificate twice, or the connection has none any more."""


def progressivo(number: int) -> str:
    """The n-th progressivo in base 36, five characters: 1 → 00001, 36 → 00010."""
    text = ""
    while number:
        number, digit = divmod(number, len(PROGRESSIVO_DIGITS))
        text = PROGRESSIVO_DIGITS[digit] + text
    if len(text) > PROGRESSIVO_LENGTH:
        raise ValueError("the transmitter has used every 5-character progressivo")
    return text.rjust(PROGRESSIVO_LENGTH, "0")


async def next_file_name(conn: Connection, supplier_vat: str) -> str:
    """The transmitter's next unused file name, IT<IdCodice>_<progressivo>.xml."""
    transmitter = fatturapa_filename(supplier_vat, "0").split("_", 1)[0]
    number = await conn.fetchval(
        "INSERT INTO sdi_progressivi (transmitter, last_used) VALUES ($1, 1) "
        "ON CONFLICT (transmitter) DO UPDATE SET last_used = sdi_progressivi.last_used + 1 "
        "RETURNING last_used",
        transmitter,
    )
    return fatturapa_filename(supplier_vat, progressivo(int(number)))


class SdiSubmitter:
    def __init__(
        self,
        context: ServiceContext,
        http: httpx.AsyncClient,
        timeout: httpx.Timeout,
        sdi: SdiEndpoint,
    ) -> None:
        self._sdi = SdiClient(sdi.url, http)
        self._http = http
        self._timeout = timeout
        # Over plain HTTP (the sandbox façade) there is no handshake to present a certificate in.
        self._tls = sdi.url.startswith("https://")
        self._ca_file = sdi.ca_file
        self._channels: dict[str, httpx.AsyncClient] = {}  # by certificate fingerprint
        self._gate = SubmissionGate(context.pool, context.settings)

    async def close(self) -> None:
        for client in self._channels.values():
            await client.aclose()
        self._channels.clear()

    async def work(self, submission: ClaimedSubmission) -> None:
        await self._gate.work(submission, lambda conn: self._step(conn, submission))

    async def _step(self, conn: Connection, submission: ClaimedSubmission) -> None:
        if submission.state == "pending":
            await self._gate.may_call(conn, SEND)
            await self._send(conn, submission)
        else:
            await self._gate.may_call(conn, FILES_BY_NAME)
            await self._reconcile(conn, submission)

    # --- pending: send -------------------------------------------------------------------------

    async def _send(self, conn: Connection, submission: ClaimedSubmission) -> None:
        channel = await self._channel(conn, submission.connection_id)
        if channel is None:
            await fail_inactive_connection(conn, submission, [], government=GOV_ENDPOINT)
            return
        content = await document_or_fail(conn, submission)
        if content is None:
            return
        async with conn.transaction():  # the name is fixed before anything leaves
            name = submission.gov_session or await next_file_name(conn, submission.supplier_vat)
            submission = await mark_uploading(conn, submission, self._gate.lease, gov_session=name)
        calls: list[GovCall] = []
        try:
            received = await self._send_presenting_certificate(
                conn, submission, (name, content), channel, calls
            )
        except GovernmentOutcomeUnknownError as exc:
            self._gate.settled(SEND, calls, failed=True)
            log.warning("sending %s lost its answer (%s)", name, exc)
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(conn, submission, utcnow(), state="reconciling", last_error=str(exc))
            return
        except GovernmentTransientError as exc:
            self._gate.settled(SEND, calls, failed=True)
            await self._gate.retry_or_give_up(
                conn,
                submission,
                calls,
                str(exc),
                government=GOV_ENDPOINT,
                retry_after=exc.retry_after,
            )
            return
        except GovernmentRefusedError as exc:
            await fail_refused(conn, submission, calls, [exc.message], government=GOV_ENDPOINT)
            return
        except ChannelRefusedError as exc:
            await fail_connection_lost(conn, submission, calls, str(exc), government=GOV_ENDPOINT)
            return
        self._gate.settled(SEND, calls, failed=False)
        await self._finish(conn, submission, received, calls, reconciled=False)

    async def _send_presenting_certificate(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        file: tuple[str, bytes],
        channel: httpx.AsyncClient,
        calls: list[GovCall],
    ) -> ReceivedFile:
        name, content = file
        headers = scenario_headers(
            submission.sandbox_scenario,
            submission.ref.invoice_id,
            livemode=submission.ref.livemode,
        )
        try:
            return await self._sdi.send_file(
                name, content, calls=calls, headers=headers, http=channel
            )
        except GovernmentAuthError:
            log.warning("SDI refused the channel certificate of %s once", submission.connection_id)
        # A renewed certificate may have been uploaded since this one was read.
        again = await self._channel(conn, submission.connection_id, fresh=True)
        if again is None:
            raise ChannelRefusedError(
                f"SDI refused the channel's certificate and the connection has no other. "
                f"{RENEW_CERTIFICATE}"
            )
        try:
            return await self._sdi.send_file(
                name, content, calls=calls, headers=headers, http=again
            )
        except GovernmentAuthError as refused:
            message = (
                f"SDI refused the channel's certificate twice (HTTP {refused.status}). "
                f"{RENEW_CERTIFICATE}"
            )
            await _expire_channel(conn, submission.connection_id, message)
            raise ChannelRefusedError(message) from None

    async def _channel(
        self, conn: Connection, connection_id: str, *, fresh: bool = False
    ) -> httpx.AsyncClient | None:
        """The HTTP client presenting the active connection's certificate; None without one."""
        if not await conn.fetchval(
            "SELECT 1 FROM connections WHERE id = $1 AND status = 'active'", connection_id
        ):
            return None
        certificate = await read_secret(conn, connection_id, SecretKind.CERTIFICATE)
        private_key = await read_secret(conn, connection_id, SecretKind.PRIVATE_KEY)
        if certificate is None or private_key is None:
            return None
        if not self._tls:
            return self._http
        fingerprint = hashlib.sha256(certificate.encode()).hexdigest()
        client = self._channels.get(fingerprint)
        if client is None or fresh:
            if client is not None:
                await client.aclose()
            if len(self._channels) >= CHANNEL_CLIENTS_KEPT:
                oldest = next(iter(self._channels))
                await self._channels.pop(oldest).aclose()
            context = client_tls(certificate, private_key, ca_file=self._ca_file)
            client = httpx.AsyncClient(verify=context, timeout=self._timeout)
            self._channels[fingerprint] = client
        return client

    async def _finish(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        received: ReceivedFile,
        calls: list[GovCall],
        *,
        reconciled: bool,
    ) -> None:
        metadata: dict[str, Any] = {
            "govEndpoint": GOV_ENDPOINT,
            "fileName": received.name,
            "receivedAt": received.received_at,
        }
        if reconciled:
            metadata["reconciled"] = True
        await finish_uploaded(
            conn,
            submission,
            upload_id=received.identificativo,
            calls=calls,
            metadata=metadata,
        )

    # --- reconciling ---------------------------------------------------------------------------

    async def _reconcile(self, conn: Connection, submission: ClaimedSubmission) -> None:
        name = submission.gov_session
        if name is None:  # marked in flight before a name was recorded: nothing was sent
            await retry_at(conn, submission, utcnow(), state="pending", last_error="never sent")
            return
        calls: list[GovCall] = []
        try:
            found = await self._sdi.files_named(name, calls)
        except GovernmentError as exc:
            self._gate.settled(
                FILES_BY_NAME, calls, failed=isinstance(exc, GovernmentTransientError)
            )
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(
                    conn,
                    submission,
                    utcnow() + RECONCILE_RETRY,
                    state="reconciling",
                    last_error=str(exc),
                )
            return
        self._gate.settled(FILES_BY_NAME, calls, failed=False)
        if found:
            # SDI refuses any later file of that name: the first one is the filing.
            await self._finish(conn, submission, found[0], calls, reconciled=True)
            return
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn,
                submission,
                utcnow(),
                state="pending",
                last_error=f"SDI received no file named {name}; sending it again under that name",
            )


async def _expire_channel(conn: Connection, connection_id: str, message: str) -> None:
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM connections WHERE id = $1 AND status = 'active' FOR UPDATE",
            connection_id,
        )
        if row is not None:
            await expire_connection(conn, row, message)
