"""Filing over a network channel (the Peppol access point; for German public buyers the ZRE/OZG-RE
platform): the Filers submitter-be and submitter-de run on the filing machine
(clearway.pipeline.filing).

    pending      prepare (Peppol: the receiver looked up in the SMP for the document's type; not
                 there: `invoice.rejected` naming the field), then send with the invoice's
                 reference (Peppol: the SBDH InstanceIdentifier; ZRE: a client reference), both
                 derived from the invoice id. Taken: `invoice.submitted`. Refused in the
                 channel's words: `invoice.rejected`. Not taken (refused connection, 401 of
                 Clearway's own key, 429, 500, 503): again after a backoff. Answer lost
                 (timeout, 502/504): reconciling.
    uploading    the process died while the send was in flight: reconciling.
    reconciling  the channel lists what it has under the reference: found, adopted; not found,
                 the send never arrived and is made again (with the same reference).

The channels publish no call limit; their 429s carry Retry-After, which the backoff honours,
and this process's circuit breaker per channel stands before them.
"""

from __future__ import annotations

import abc
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentAuthError,
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
)
from clearway.connectors.filing import Filed
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import lookup_headers
from clearway.governments.de import client as zre
from clearway.governments.peppol import client as peppol
from clearway.pipeline.filing.machine import Route
from clearway.pipeline.filing.outcomes import (
    AnswerLost,
    Attempt,
    CallLimits,
    ConnectionInactive,
    FindOutcome,
    LookAgain,
    NotFound,
    NotTaken,
    RejectedUnfiled,
    Uploaded,
    UploadOutcome,
)
from clearway.pipeline.filing.service import FilerSetup, filer_in_mode
from clearway.store.submissions import ClaimedSubmission

log = logging.getLogger(__name__)

# After a lost answer, a short pause before looking: a send the channel is still processing
# lands first. (A second send would still carry the same reference.)
RECONCILE_AFTER = dt.timedelta(seconds=1)
SEARCH_RETRY = dt.timedelta(seconds=2)


@dataclass(frozen=True)
class Parcel:
    """A document ready to send: its bytes, its reference and the channel's addressing."""

    content: bytes
    reference: str
    addressing: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Refusal:
    """Why the channel cannot take the invoice, found before sending (its words, or ours)."""

    messages: tuple[str, ...]
    reason: str


class ChannelFiler(abc.ABC):
    """What filing over either channel shares; each channel says how it addresses, sends and
    looks up a document."""

    government: str  # govEndpoint on the events: "Peppol", "ZRE"
    send_endpoint: str  # the attempts' name for the send
    reference_name: str  # the reference's name in invoice.submitted's metadata
    first_look_after = RECONCILE_AFTER
    reconcile_window = None

    @abc.abstractmethod
    def reference_for(self, invoice_id: str) -> str: ...

    @abc.abstractmethod
    async def prepare(
        self,
        sender: str,
        request: Mapping[str, Any],
        content: bytes,
        calls: list[GovCall],
        headers: Mapping[str, str],
    ) -> Mapping[str, str] | Refusal:
        """The parcel's addressing, or why the channel cannot take the invoice."""

    @abc.abstractmethod
    async def send(
        self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]
    ) -> Filed: ...

    @abc.abstractmethod
    async def lookup(self, reference: str, calls: list[GovCall]) -> Filed | None:
        """What the channel has under the reference."""

    def _limits(self) -> CallLimits:
        """A channel's breaker: its send endpoint at its government (Peppol's and ZRE's apart);
        the channels publish no call limit."""
        return CallLimits(f"{self.government} {self.send_endpoint}")

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return self._limits()

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return self._limits()

    async def upload(self, attempt: Attempt, document: bytes) -> UploadOutcome:  # noqa: PLR0911 - an outcome each
        submission = attempt.submission
        sender = await _sender(attempt.conn, submission.connection_id)
        if sender is None:
            return ConnectionInactive()
        try:
            addressing = await self.prepare(
                sender,
                submission.request,
                document,
                attempt.calls,
                lookup_headers(submission.sandbox_scenario, livemode=submission.ref.livemode),
            )
        except GovernmentError as exc:  # the lookup failed: nothing was sent
            return self._not_taken(exc)
        if isinstance(addressing, Refusal):
            return RejectedUnfiled(messages=addressing.messages, reason=addressing.reason)
        parcel = Parcel(document, self.reference_for(submission.ref.invoice_id), addressing)
        await attempt.in_flight()  # the lookups show among the attempts
        try:
            filed = await self.send(parcel, attempt.calls, attempt.scenario_headers)
        except GovernmentOutcomeUnknownError as exc:
            return AnswerLost(reason=str(exc))
        except GovernmentRefusedError as exc:
            return RejectedUnfiled(messages=[exc.message], reason="send_refused")
        except GovernmentError as exc:
            return self._not_taken(exc)
        return self._uploaded(filed, parcel.reference)

    def _not_taken(self, exc: GovernmentError) -> NotTaken:
        """Nothing was filed: again after a backoff (or `error` after the last attempt)."""
        reason = str(exc)
        if isinstance(exc, GovernmentAuthError):
            # Clearway's own key at the channel, not the company's: nothing to re-authorize
            # for the user; an operator must renew it, and the invoice waits in its backoff.
            log.error("%s refused Clearway's API key: %s", self.government, exc)
            reason = f"{exc}: Clearway's {self.government} credential was refused"
        if isinstance(exc, GovernmentRefusedError):  # an SMP lookup refused as a whole
            reason = exc.message
        return NotTaken(reason=reason, retry_after=exc.retry_after)

    async def find(self, attempt: Attempt) -> FindOutcome:
        reference = self.reference_for(attempt.submission.ref.invoice_id)
        try:
            found = await self.lookup(reference, attempt.calls)
        except GovernmentError as exc:
            pause = max(SEARCH_RETRY, dt.timedelta(seconds=exc.retry_after or 0))
            return LookAgain(
                reason=str(exc),
                at=utcnow() + pause,
                endpoint_failed=isinstance(exc, GovernmentTransientError),
            )
        if found is None:
            return NotFound(
                reason=f"{self.government} has nothing under {reference}; sending again"
            )
        return self._uploaded(found, reference)

    def _uploaded(self, filed: Filed, reference: str) -> Uploaded:
        return Uploaded(
            upload_id=filed.upload_id,
            details={"govStatus": filed.status, self.reference_name: reference},
        )


async def _sender(conn: Connection, connection_id: str) -> str | None:
    """The company's participant id on the network; None when its connection is gone."""
    row: Any = await conn.fetchrow(
        "SELECT status, network_scheme, network_identifier FROM connections WHERE id = $1",
        connection_id,
    )
    if row is None or row["status"] != "active" or not row["network_identifier"]:
        return None
    return f"{row['network_scheme']}:{row['network_identifier']}"


class PeppolFiler(ChannelFiler):
    government = peppol.GOV_ENDPOINT
    send_endpoint = peppol.SEND
    reference_name = "instanceIdentifier"

    def __init__(self, client: peppol.PeppolClient) -> None:
        self._client = client

    def reference_for(self, invoice_id: str) -> str:
        return peppol.instance_identifier_for(invoice_id)

    async def prepare(
        self,
        sender: str,
        request: Mapping[str, Any],
        content: bytes,
        calls: list[GovCall],
        headers: Mapping[str, str],
    ) -> Mapping[str, str] | Refusal:
        receiver = peppol.receiver_of(request)
        if receiver is None:
            return Refusal(
                ("NO_RECEIVER_ID: the buyer has no Peppol participant id",), "no_receiver_id"
            )
        try:
            document_type = peppol.document_type_of(content)
        except ValueError as exc:
            return Refusal((f"UNSUPPORTED_DOCUMENT: {exc}",), "unsupported_document")
        problem = await self._client.receiver_problem(receiver, document_type, calls, headers)
        if problem is not None:
            return Refusal((problem,), "receiver_not_registered")
        return {"sender": sender, "receiver": receiver, "documentType": document_type}

    async def send(self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]) -> Filed:
        return await self._client.send(
            parcel.content,
            sender=parcel.addressing["sender"],
            receiver=parcel.addressing["receiver"],
            document_type=parcel.addressing["documentType"],
            instance_identifier=parcel.reference,
            calls=calls,
            headers=headers,
        )

    async def lookup(self, reference: str, calls: list[GovCall]) -> Filed | None:
        return await self._client.find(reference, calls)


class ZreFiler(ChannelFiler):
    government = zre.GOV_ENDPOINT
    send_endpoint = zre.UPLOAD
    reference_name = "clientReference"

    def __init__(self, client: zre.ZreClient) -> None:
        self._client = client

    def reference_for(self, invoice_id: str) -> str:
        return zre.client_reference_for(invoice_id)

    async def prepare(
        self,
        sender: str,  # noqa: ARG002 - the platform knows Clearway's account, not participants
        request: Mapping[str, Any],  # noqa: ARG002 - the Leitweg-ID travels in the document
        content: bytes,  # noqa: ARG002 - sent as it is
        calls: list[GovCall],  # noqa: ARG002 - nothing to look up before the upload
        headers: Mapping[str, str],  # noqa: ARG002 - the same: they go with the upload
    ) -> Mapping[str, str] | Refusal:
        return {}

    async def send(self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]) -> Filed:
        return await self._client.upload(
            parcel.content, client_reference=parcel.reference, calls=calls, headers=headers
        )

    async def lookup(self, reference: str, calls: list[GovCall]) -> Filed | None:
        return await self._client.find(reference, calls)


def _peppol_in_mode(setup: FilerSetup, country: str) -> Callable[[], PeppolFiler]:
    return filer_in_mode(
        setup.context.settings.governments().peppol,
        lambda ap: PeppolFiler(
            peppol.PeppolClient(ap.ap_url, ap.ap_api_key, setup.http, country=country)
        ),
        livemode=setup.livemode,
    )


def belgian_route(setup: FilerSetup) -> Route:
    """Every Belgian invoice goes over Peppol."""
    over_peppol = _peppol_in_mode(setup, "BE")
    return lambda _request: over_peppol()


def german_route(setup: FilerSetup) -> Route:
    """A German invoice whose buyer reference is a Leitweg-ID goes to a public buyer, through
    ZRE; any other over Peppol."""
    over_peppol = _peppol_in_mode(setup, "DE")
    to_zre = filer_in_mode(
        setup.context.settings.governments().zre,
        lambda platform: ZreFiler(zre.ZreClient(platform.url, platform.api_key, setup.http)),
        livemode=setup.livemode,
    )

    def route(request: Mapping[str, Any]) -> ChannelFiler:
        return to_zre() if zre.leitweg_id_of(request) is not None else over_peppol()

    return route
