"""What submitter-be and submitter-de decide for one due `submissions` row: filing over a network
channel (the Peppol access point; for German public buyers the ZRE/OZG-RE platform).

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

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from clearway.config import GovernmentEndpoints, LiveNotConfiguredError
from clearway.connectors import GovCall
from clearway.connectors.calls import (
    GovernmentAuthError,
    GovernmentError,
    GovernmentOutcomeUnknownError,
    GovernmentRefusedError,
    GovernmentTransientError,
)
from clearway.connectors.filing import Filed
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import lookup_headers, scenario_headers
from clearway.eventstore import Connection
from clearway.governments.de import client as zre
from clearway.governments.peppol import client as peppol
from clearway.pipeline.filing import (
    ClaimedSubmission,
    SubmissionGate,
    Work,
    document_or_fail,
    fail_inactive_connection,
    fail_live_not_configured,
    finish_uploaded,
    mark_uploading,
    record_calls,
    reject_unfiled,
    retry_at,
)
from clearway.runtime import ServiceContext

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


class Channel(Protocol):
    government: str  # govEndpoint on the events: "Peppol", "ZRE"
    send_endpoint: str  # the breaker's and the attempts' name for the send
    reference_name: str  # the reference's name in invoice.submitted's metadata

    def reference_for(self, invoice_id: str) -> str: ...

    async def prepare(
        self,
        sender: str,
        request: Mapping[str, Any],
        content: bytes,
        calls: list[GovCall],
        headers: Mapping[str, str],
    ) -> Parcel | Refusal: ...

    async def send(
        self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]
    ) -> Filed: ...

    async def find(self, reference: str, calls: list[GovCall]) -> Filed | None: ...


class PeppolChannel:
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
    ) -> Parcel | Refusal:
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
        return Parcel(
            content=content,
            reference="",  # set by the submitter from the invoice id
            addressing={"sender": sender, "receiver": receiver, "documentType": document_type},
        )

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

    async def find(self, reference: str, calls: list[GovCall]) -> Filed | None:
        return await self._client.find(reference, calls)


class ZreChannel:
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
        content: bytes,
        calls: list[GovCall],  # noqa: ARG002 - nothing to look up before the upload
        headers: Mapping[str, str],  # noqa: ARG002 - the same: they go with the upload
    ) -> Parcel | Refusal:
        return Parcel(content=content, reference="")

    async def send(self, parcel: Parcel, calls: list[GovCall], headers: Mapping[str, str]) -> Filed:
        return await self._client.upload(
            parcel.content, client_reference=parcel.reference, calls=calls, headers=headers
        )

    async def find(self, reference: str, calls: list[GovCall]) -> Filed | None:
        return await self._client.find(reference, calls)


Route = Callable[[Mapping[str, Any]], Channel]  # the invoice's request -> where it goes
T = TypeVar("T")


def channel_in_mode(
    endpoints: GovernmentEndpoints[T], make: Callable[[T], Channel], *, livemode: bool
) -> Callable[[], Channel]:
    """The mode's channel, made once; a live one not configured raises LiveNotConfiguredError
    when asked for (ChannelSubmitter then puts the invoice in `error`, sending nothing)."""
    try:
        channel = make(endpoints.for_mode(livemode))
    except LiveNotConfiguredError as exc:
        not_configured = exc

        def refuse() -> Channel:
            raise not_configured

        return refuse
    return lambda: channel


def _breaker_name(channel: Channel) -> str:
    """A channel's breaker: its send endpoint at its government (Peppol's and ZRE's apart)."""
    return f"{channel.government} {channel.send_endpoint}"


class ChannelSubmitter:
    def __init__(self, context: ServiceContext, route: Route) -> None:
        self._route = route
        self._gate = SubmissionGate(context.pool, context.settings)

    async def work(self, submission: ClaimedSubmission) -> None:
        await self._gate.work(submission, lambda conn: self._step(conn, submission))

    async def _step(self, conn: Connection, submission: ClaimedSubmission) -> None:
        request: Mapping[str, Any] = (
            await conn.fetchval(
                "SELECT request FROM invoices WHERE id = $1", submission.ref.invoice_id
            )
            or {}
        )
        try:
            channel = self._route(request)
        except LiveNotConfiguredError as exc:
            await fail_live_not_configured(conn, submission, exc)
            return
        await self._gate.may_call(conn, _breaker_name(channel))
        if submission.state == "pending":
            await self._file(conn, submission, channel, request)
        else:
            await self._reconcile(conn, submission, channel)

    def _settled(self, channel: Channel, calls: Sequence[GovCall], *, failed: bool) -> None:
        self._gate.settled(_breaker_name(channel), calls, failed=failed)

    async def _sender(self, conn: Connection, submission: ClaimedSubmission) -> str | None:
        """The company's participant id on the network; None when its connection is gone."""
        row: Any = await conn.fetchrow(
            "SELECT status, network_scheme, network_identifier FROM connections WHERE id = $1",
            submission.connection_id,
        )
        if row is None or row["status"] != "active" or not row["network_identifier"]:
            return None
        return f"{row['network_scheme']}:{row['network_identifier']}"

    async def _prepare(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        channel: Channel,
        request: Mapping[str, Any],
    ) -> Parcel | None:
        """The parcel to send; None when the invoice was settled (or rescheduled) instead."""
        content = await document_or_fail(conn, submission)
        if content is None:
            return None
        sender = await self._sender(conn, submission)
        if sender is None:
            await fail_inactive_connection(conn, submission, [], government=channel.government)
            return None
        calls: list[GovCall] = []
        try:
            prepared = await channel.prepare(
                sender,
                request,
                content,
                calls,
                lookup_headers(submission.sandbox_scenario, livemode=submission.ref.livemode),
            )
        except GovernmentError as exc:  # the lookup failed: nothing was sent
            await self._not_taken(conn, submission, channel, calls, exc)
            return None
        if isinstance(prepared, Refusal):
            await reject_unfiled(
                conn,
                submission,
                calls,
                prepared.messages,
                government=channel.government,
                reason=prepared.reason,
            )
            return None
        async with conn.transaction():  # the lookups show among the attempts
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
        return Parcel(
            prepared.content,
            channel.reference_for(submission.ref.invoice_id),
            prepared.addressing,
        )

    async def _file(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        channel: Channel,
        request: Mapping[str, Any],
    ) -> None:
        parcel = await self._prepare(conn, submission, channel, request)
        if parcel is None:
            return
        calls: list[GovCall] = []
        submission = await mark_uploading(conn, submission, self._gate.lease)
        try:
            filed = await channel.send(
                parcel,
                calls,
                scenario_headers(
                    submission.sandbox_scenario,
                    submission.ref.invoice_id,
                    livemode=submission.ref.livemode,
                ),
            )
        except GovernmentOutcomeUnknownError as exc:
            self._settled(channel, calls, failed=True)
            log.warning("the send of %s lost its answer (%s)", submission.ref.invoice_id, exc)
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(
                    conn,
                    submission,
                    utcnow() + RECONCILE_AFTER,
                    state="reconciling",
                    last_error=str(exc),
                )
            return
        except GovernmentRefusedError as exc:
            await reject_unfiled(
                conn,
                submission,
                calls,
                [exc.message],
                government=channel.government,
                reason="send_refused",
            )
            return
        except GovernmentError as exc:
            await self._not_taken(conn, submission, channel, calls, exc)
            return
        self._settled(channel, calls, failed=False)
        await finish_uploaded(
            conn,
            submission,
            upload_id=filed.upload_id,
            calls=calls,
            metadata={
                "govEndpoint": channel.government,
                "govStatus": filed.status,
                channel.reference_name: parcel.reference,
            },
        )

    async def _not_taken(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        channel: Channel,
        calls: list[GovCall],
        exc: GovernmentError,
    ) -> None:
        """Nothing was filed: again after a backoff (or `error` after the last attempt)."""
        self._settled(channel, calls, failed=True)
        reason = str(exc)
        if isinstance(exc, GovernmentAuthError):
            # Clearway's own key at the channel, not the company's: nothing to re-authorize
            # for the user; an operator must renew it, and the invoice waits in its backoff.
            log.error("%s refused Clearway's API key: %s", channel.government, exc)
            reason = f"{exc}: Clearway's {channel.government} credential was refused"
        if isinstance(exc, GovernmentRefusedError):  # an SMP lookup refused as a whole
            reason = exc.message
        await self._gate.retry_or_give_up(
            conn,
            submission,
            calls,
            reason,
            government=channel.government,
            retry_after=exc.retry_after,
        )

    async def _reconcile(
        self, conn: Connection, submission: ClaimedSubmission, channel: Channel
    ) -> None:
        reference = channel.reference_for(submission.ref.invoice_id)
        calls: list[GovCall] = []
        try:
            found = await channel.find(reference, calls)
        except GovernmentError as exc:
            self._settled(channel, calls, failed=isinstance(exc, GovernmentTransientError))
            retry_after = exc.retry_after
            pause = max(SEARCH_RETRY, dt.timedelta(seconds=retry_after or 0))
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(
                    conn, submission, utcnow() + pause, state="reconciling", last_error=str(exc)
                )
            return
        self._settled(channel, calls, failed=False)
        if found is not None:
            await finish_uploaded(
                conn,
                submission,
                upload_id=found.upload_id,
                calls=calls,
                metadata={
                    "govEndpoint": channel.government,
                    "govStatus": found.status,
                    channel.reference_name: reference,
                    "reconciled": True,
                },
            )
            return
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn,
                submission,
                utcnow(),
                state="pending",
                last_error=f"{channel.government} has nothing under {reference}; sending again",
            )


def work_by_mode(context: ServiceContext, route_for: Callable[[bool], Route]) -> Work:
    """One ChannelSubmitter per mode (its own channels and breakers, so the sandbox's failures
    never hold live invoices back): a row goes to its invoice's mode's."""
    submitters = {
        livemode: ChannelSubmitter(context, route_for(livemode)) for livemode in (False, True)
    }

    async def work(submission: ClaimedSubmission) -> None:
        await submitters[submission.ref.livemode].work(submission)

    return work
