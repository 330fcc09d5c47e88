"""The simulated access point's state: participants registered in its SMP, documents sent,
and their delivery after the processing delay (or a forced failure or MLS rejection). The
HTTP contract is api.py."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from services.govsim.common import (
    CredentialExpiry,
)
from services.govsim.keyed import KeyedSimulator
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


@dataclass
class PeppolSimulator(KeyedSimulator):
    """All state of the simulated access point, and the rules that move it."""

    _participants: dict[str, Participant] = field(default_factory=dict)
    _documents: dict[str, SentDocument] = field(default_factory=dict)
    _undelivered: dict[str, SentDocument] = field(default_factory=dict)  # in arrival order
    _forced: list[ForcedDelivery] = field(default_factory=list)
    credential_expiry: CredentialExpiry = field(default_factory=CredentialExpiry)

    def _clear_state(self) -> None:
        self._participants.clear()
        self._documents.clear()
        self._undelivered.clear()
        self._forced.clear()
        self.credential_expiry.clear()

    # --- participants ----------------------------------------------------------------------

    def register(self, participant: Participant) -> None:
        self._participants[participant.participant_id.lower()] = participant

    def registered(self) -> list[Participant]:
        """The participants registered through the control API (the SMP lists more)."""
        return list(self._participants.values())

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
            forced=forced or (self._forced.pop(0) if self._forced else None),
        )
        self._documents[document.document_id] = document
        self._undelivered[document.document_id] = document
        logger.info("Peppol document %s from %s to %s", document.document_id, sender, receiver)
        return document

    def document(self, document_id: str) -> SentDocument | None:
        self.settle()
        return self._documents.get(document_id)

    def documents(self) -> list[SentDocument]:
        self.settle()
        return list(self._documents.values())

    def force_next(self, forced: ForcedDelivery, count: int) -> None:
        self._forced.extend([forced] * count)

    def settle(self) -> None:
        now = self.clock()
        for document_id, document in list(self._undelivered.items()):
            if document.ready_at <= now:
                del self._undelivered[document_id]
                self._deliver(document)

    def _deliver(self, document: SentDocument) -> None:
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
