"""SDI's part of the filing machine (clearway.pipeline.filing): the Filer submitter-it runs.

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

import httpx

from clearway.accounts.connections import expire_connection
from clearway.connectors.calls import (
    GovernmentAuthError,
    GovernmentError,
)
from clearway.db import Connection
from clearway.governments.it.channel import (
    RENEW_CERTIFICATE,
    channel_certificate,
    presents_certificates,
)
from clearway.governments.it.client import (
    FILES_BY_NAME,
    GOV_ENDPOINT,
    SEND,
    ReceivedFile,
    SdiClient,
    client_tls,
)
from clearway.governments.it.document import fatturapa_filename
from clearway.governments.it.settings import SdiEndpoint
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.outcomes import Attempt, CallLimits
from clearway.pipeline.filing.service import FilerSetup
from clearway.store import submissions
from clearway.store.submissions import ClaimedSubmission

log = logging.getLogger(__name__)

PROGRESSIVO_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
PROGRESSIVO_LENGTH = 5  # the file name's progressivo: 5 letters or digits
RECONCILE_RETRY = dt.timedelta(seconds=2)  # the lookup itself failed: ask again soon
CHANNEL_CLIENTS_KEPT = 64  # TLS clients kept open, one per channel certificate


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
    number = await submissions.next_sdi_progressivo(conn, transmitter)
    return fatturapa_filename(supplier_vat, progressivo(number))


class SdiFiler:
    government = GOV_ENDPOINT
    first_look_after = dt.timedelta(0)
    reconcile_window = None

    def __init__(self, http: httpx.AsyncClient, timeout: httpx.Timeout, sdi: SdiEndpoint) -> None:
        self._sdi = SdiClient(sdi.url, http)
        self._http = http
        self._timeout = timeout
        self._tls = presents_certificates(sdi)
        self._ca_file = sdi.ca_file
        self._channels: dict[str, httpx.AsyncClient] = {}  # by certificate fingerprint

    async def close(self) -> None:
        for client in self._channels.values():
            await client.aclose()
        self._channels.clear()

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return CallLimits(SEND)

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return CallLimits(FILES_BY_NAME)

    # --- pending: send -------------------------------------------------------------------------

    async def upload(self, attempt: Attempt, document: bytes) -> outcomes.UploadOutcome:
        submission, conn = attempt.submission, attempt.conn
        channel = await self._channel(conn, submission.connection_id)
        if channel is None:
            return outcomes.ConnectionInactive()
        async with conn.transaction():  # the name is fixed before anything leaves
            name = submission.gov_session or await next_file_name(conn, submission.supplier_vat)
            await attempt.in_flight(gov_session=name)
        try:
            received = await self._send_presenting_certificate(attempt, (name, document), channel)
        except GovernmentError as exc:
            return outcomes.upload_failed(exc)
        except ChannelRefusedError as exc:
            return outcomes.ConnectionLost(reason=str(exc))
        return _uploaded(received)

    async def _send_presenting_certificate(
        self, attempt: Attempt, file: tuple[str, bytes], channel: httpx.AsyncClient
    ) -> ReceivedFile:
        submission, conn, calls = attempt.submission, attempt.conn, attempt.calls
        name, content = file
        headers = attempt.scenario_headers
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
        found = await channel_certificate(conn, connection_id)
        if found is None:
            return None
        if not self._tls:
            return self._http
        certificate, private_key = found
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

    # --- reconciling ---------------------------------------------------------------------------

    async def find(self, attempt: Attempt) -> outcomes.FindOutcome:
        name = attempt.submission.gov_session
        if name is None:  # marked in flight before a name was recorded: nothing was sent
            return outcomes.NotFound(reason="never sent", endpoint_failed=None)
        try:
            found = await self._sdi.files_named(name, attempt.calls)
        except GovernmentError as exc:
            return outcomes.look_again_after(exc, RECONCILE_RETRY)
        if found:
            # SDI refuses any later file of that name: the first one is the filing.
            return _uploaded(found[0])
        return outcomes.NotFound(
            reason=f"SDI received no file named {name}; sending it again under that name"
        )


def _uploaded(received: ReceivedFile) -> outcomes.Uploaded:
    return outcomes.Uploaded(
        upload_id=received.identificativo,
        details={"fileName": received.name, "receivedAt": received.received_at},
    )


async def _expire_channel(conn: Connection, connection_id: str, message: str) -> None:
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM connections WHERE id = $1 AND status = 'active' FOR UPDATE",
            connection_id,
        )
        if row is not None:
            await expire_connection(conn, row, message)


def filer(setup: FilerSetup, sdi: SdiEndpoint) -> SdiFiler:
    """SDI's Filer; its channels' TLS clients are closed when the submitter stops."""
    timeout = httpx.Timeout(setup.context.settings.government_call_timeout, connect=5.0)
    made = SdiFiler(setup.http, timeout, sdi)
    setup.closing.push_async_callback(made.close)
    return made
