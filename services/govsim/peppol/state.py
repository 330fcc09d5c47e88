"""The simulated access point's state: participants registered in its SMP, documents sent,
and their delivery after the processing delay (or a forced failure or MLS rejection). The
HTTP contract is api.py."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

import httpx

from services.govsim.faults import CredentialExpiry
from services.govsim.keyed import KeyedSimulator
from services.govsim.peppol.invoice_response import InvoiceResponseSaid
from services.govsim.peppol.participants import (
    DEFAULT_DOCUMENT_TYPES,
    normalize_participant,
    participant_problem,
)

logger = logging.getLogger(__name__)


class DeliveryStatus(StrEnum):
    ACCEPTED = "accepted"
    DELIVERED = "delivered"
    FAILED = "failed"  # the AS4 transmission did not succeed
    REJECTED = "rejected"  # delivered, but the receiving side answered MLS "RE"


@dataclass
class Participant:
    participant_id: str
    name: str
    document_types: tuple[str, ...]


@dataclass(frozen=True)
class ForcedDelivery:
    status: DeliveryStatus
    reason: str


@dataclass
class SentDocument:
    document_id: str
    instance_identifier: str  # the SBDH InstanceIdentifier: the sender's, else the AP's UUID
    sender: str
    receiver: str
    document_type: str
    process: str
    created_at: float
    ready_at: float
    forced: ForcedDelivery | None
    status: DeliveryStatus = DeliveryStatus.ACCEPTED
    as4_message_id: str | None = None
    decided_at: float | None = None
    reason: str | None = None
    response: InvoiceResponseSaid | None = None  # what an Invoice Response tells the supplier


@dataclass(frozen=True)
class IncomingDelivery:
    """A document sent to one of the access point's participants: the SBD it forwards to the
    participant's owner (incoming.py), kept to forward it again."""

    instance_identifier: str
    receiver: str
    country: str
    document_type: str
    sbd: bytes
    as4_message_id: str


@dataclass
class PeppolSimulator(KeyedSimulator[SentDocument, ForcedDelivery]):
    """All state of the simulated access point, and the rules that move it. `received` holds
    the documents sent, by id; `incoming` the documents forwarded to Clearway's receiver
    (`receiver_url`, with `network_key`), by instance identifier."""

    _participants: dict[str, Participant] = field(default_factory=dict)
    credential_expiry: CredentialExpiry = field(default_factory=CredentialExpiry)
    receiver_url: str = ""
    network_key: str = field(default="", repr=False)
    # The first pause between forwarding attempts (doubling); a test's transport and no pause.
    delivery_backoff: float = 0.5
    delivery_transport: httpx.AsyncBaseTransport | None = None
    incoming: dict[str, IncomingDelivery] = field(default_factory=dict)

    def _clear_state(self) -> None:
        self._participants.clear()
        self.credential_expiry.clear()
        self.incoming.clear()

    # --- participants ----------------------------------------------------------------------

    def register(self, participant: Participant) -> None:
        self._participants[participant.participant_id.lower()] = participant

    def registered(self) -> list[Participant]:
        """The participants registered through the control API (the SMP lists more)."""
        return list(self._participants.values())

    def customer(self, participant_id: str) -> Participant | None:
        """The participant as registered at this access point (its customer's), else None: the
        SMP's other entries point to other access points."""
        return self._participants.get(normalize_participant(participant_id).lower())

    def participant(self, participant_id: str, *, unknown: bool = False) -> Participant | None:
        """Who the SMP lists under this id: a registered participant as registered, any other
        well-formed id for every default document type (a sandbox has no registry to fill in
        by hand); nobody when `unknown` (the `receiver_unknown` scenario) or malformed."""
        normalized = normalize_participant(participant_id)
        if unknown:
            return None
        registered = self._participants.get(normalized.lower())
        if registered is not None:
            return registered
        if participant_problem(normalized) is not None:
            return None
        return Participant(normalized, "Sandbox participant", DEFAULT_DOCUMENT_TYPES)

    # --- documents -------------------------------------------------------------------------

    def accept(  # noqa: PLR0913 - the SBDH's parts
        self,
        sender: str,
        receiver: str,
        document_type: str,
        process: str,
        *,
        instance_identifier: str | None = None,
        forced: ForcedDelivery | None = None,
        response: InvoiceResponseSaid | None = None,
    ) -> SentDocument:
        now = self.clock()
        document = SentDocument(
            document_id=str(uuid.uuid4()),
            instance_identifier=instance_identifier or str(uuid.uuid4()),
            sender=sender,
            receiver=receiver,
            document_type=document_type,
            process=process,
            created_at=now,
            ready_at=now + self.processing_delay,
            forced=forced or self.received.next_forced(),
            response=response,
        )
        self.received.add(document.document_id, document)
        logger.info("Peppol document %s from %s to %s", document.document_id, sender, receiver)
        return document

    def _decide(self, document: SentDocument) -> None:
        """Deliver it, or fail or reject it as forced."""
        document.decided_at = document.ready_at
        forced = document.forced
        if forced is not None and forced.status is DeliveryStatus.FAILED:
            document.status, document.reason = DeliveryStatus.FAILED, forced.reason
            return
        # AS4 message ids are RFC 2822 message ids; phase4 makes them uuid@host.
        document.as4_message_id = f"{uuid.uuid4()}@govsim-ap"
        if forced is not None and forced.status is DeliveryStatus.REJECTED:
            document.status, document.reason = DeliveryStatus.REJECTED, forced.reason
            return
        document.status = DeliveryStatus.DELIVERED
