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
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentAuthError,
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
)
from clearway.connectors.filing import Filed
from clearway.db import Connection
from clearway.domain.sandbox import lookup_headers
from clearway.governments.de import client as zre
from clearway.governments.peppol import client as peppol
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.outcomes import Attempt, CallLimits
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


class ChannelClient(Protocol):
    async def find(self, reference: str, calls: list[GovCall]) -> Filed | None:
        """What the channel has under the reference."""
        ...


C = TypeVar("C", bound=ChannelClient)


class ChannelFiler(abc.ABC, Generic[C]):
    """What filing over either channel shares; each channel says how it addresses and sends a
    document, and how its reference is derived from the invoice id."""

    government: str  # govEndpoint on the events: "Peppol", "ZRE"
    send_endpoint: str  # the attempts' name for the send
    reference_name: str  # the reference's name in invoice.submitted's metadata
    reference: ClassVar[Callable[[str], str]]  # the invoice id -> the reference it is sent with
    first_look_after = RECONCILE_AFTER
    reconcile_window = None

    def __init__(self, client: C) -> None:
        self._client = client

    def reference_for(self, invoice_id: str) -> str:
        return type(self).reference(invoice_id)

    async def prepare(
        self,
        sender: str,  # noqa: ARG002 - a channel that addresses by participant overrides this
        request: Mapping[str, Any],  # noqa: ARG002
        content: bytes,  # noqa: ARG002
        calls: list[GovCall],  # noqa: ARG002
        headers: Mapping[str, str],  # noqa: ARG002
    ) -> Mapping[str, str] | Refusal:
        """The parcel's addressing, or why the channel cannot take the invoice: by default none
        (ZRE: the Leitweg-ID travels in the document, and nothing is looked up first)."""
        return {}

    @abc.abstractmethod
    async def send(
        self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]
    ) -> Filed: ...

    async def lookup(self, reference: str, calls: list[GovCall]) -> Filed | None:
        """What the channel has under the reference."""
        return await self._client.find(reference, calls)

    def _limits(self) -> CallLimits:
        """A channel's breaker: its send endpoint at its government (Peppol's and ZRE's apart);
        the channels publish no call limit."""
        return CallLimits(f"{self.government} {self.send_endpoint}")

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return self._limits()

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return self._limits()

    async def upload(self, attempt: Attempt, document: bytes) -> outcomes.UploadOutcome:  # noqa: PLR0911 - an outcome each
        submission = attempt.submission
        sender = await _sender(attempt.conn, submission.connection_id)
        if sender is None:
            return outcomes.ConnectionInactive()
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
            return outcomes.RejectedUnfiled(messages=addressing.messages, reason=addressing.reason)
        parcel = Parcel(document, self.reference_for(submission.ref.invoice_id), addressing)
        await attempt.in_flight()  # the lookups show among the attempts
        try:
            filed = await self.send(parcel, attempt.calls, attempt.scenario_headers)
        except GovernmentOutcomeUnknownError as exc:
            return outcomes.AnswerLost(reason=str(exc))
        except GovernmentRefusedError as exc:
            return outcomes.RejectedUnfiled(messages=[exc.message], reason="send_refused")
        except GovernmentError as exc:
            return self._not_taken(exc)
        return self._uploaded(filed, parcel.reference)

    def _not_taken(self, exc: GovernmentError) -> outcomes.NotTaken:
        """Nothing was filed: again after a backoff (or `error` after the last attempt)."""
        reason = str(exc)
        if isinstance(exc, GovernmentAuthError):
            # Clearway's own key at the channel, not the company's: nothing to re-authorize
            # for the user; an operator must renew it, and the invoice waits in its backoff.
            log.error("%s refused Clearway's API key: %s", self.government, exc)
            reason = f"{exc}: Clearway's {self.government} credential was refused"
        if isinstance(exc, GovernmentRefusedError):  # an SMP lookup refused as a whole
            reason = exc.message
        return outcomes.NotTaken(reason=reason, retry_after=exc.retry_after)

    async def find(self, attempt: Attempt) -> outcomes.FindOutcome:
        reference = self.reference_for(attempt.submission.ref.invoice_id)
        try:
            found = await self.lookup(reference, attempt.calls)
        except GovernmentError as exc:
            return outcomes.look_again_after(exc, SEARCH_RETRY)
        if found is None:
            return outcomes.NotFound(
                reason=f"{self.government} has nothing under {reference}; sending again"
            )
        return self._uploaded(found, reference)

    def _uploaded(self, filed: Filed, reference: str) -> outcomes.Uploaded:
        return outcomes.Uploaded(
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


class PeppolFiler(ChannelFiler[peppol.PeppolClient]):
    government = peppol.GOV_ENDPOINT
    send_endpoint = peppol.SEND
    reference_name = "instanceIdentifier"
    reference = peppol.instance_identifier_for

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


class ZreFiler(ChannelFiler[zre.ZreClient]):
    """A German public buyer's receipt platform: an upload with the client reference."""

    government = zre.GOV_ENDPOINT
    send_endpoint = zre.UPLOAD
    reference_name = "clientReference"
    reference = zre.client_reference_for

    async def send(self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]) -> Filed:
        return await self._client.upload(
            parcel.content, client_reference=parcel.reference, calls=calls, headers=headers
        )
