"""The simulated German receipt platform's state: uploads, their decision after the processing
delay, and the German reasons it rejects with. The HTTP contract is api.py."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from enum import StrEnum

from services.govsim.de.leitweg import leitweg_id_problem
from services.govsim.faults import CredentialExpiry
from services.govsim.keyed import KeyedSimulator
from services.govsim.ubl_cii import XRECHNUNG_3, BusinessDocument

logger = logging.getLogger(__name__)


class UploadStatus(StrEnum):
    RECEIVED = "received"
    DELIVERED = "delivered"
    REJECTED = "rejected"


@dataclass
class UploadedInvoice:
    upload_id: str
    document: BusinessDocument
    received_at: float
    ready_at: float
    forced_reason: str | None
    client_reference: str | None = None
    receiver_unknown: bool = False  # sent with the `receiver_unknown` sandbox scenario
    status: UploadStatus = UploadStatus.RECEIVED
    decided_at: float | None = None
    reasons: tuple[str, ...] = ()


def rejection_reasons(document: BusinessDocument, *, receiver_unknown: bool) -> list[str]:
    """Why the platform refuses the invoice, in German; empty when it delivers it.

    The sandbox knows a recipient under every well-formed Leitweg-ID with valid check digits
    (there is no directory to fill in by hand), except for an upload sent with the
    `receiver_unknown` scenario."""
    reasons = []
    if not document.customization_id.startswith(XRECHNUNG_3):
        reasons.append(
            f"Die Rechnung ist keine XRechnung 3.0 (CustomizationID "
            f"{document.customization_id or '(fehlt)'})."
        )
    leitweg_id = document.buyer_reference
    if not leitweg_id:
        reasons.append("Die Leitweg-ID (BT-10, BuyerReference) fehlt.")
        return reasons
    problem = leitweg_id_problem(leitweg_id)
    if problem is not None:
        reasons.append(problem)
    elif receiver_unknown:
        reasons.append(f"Die Leitweg-ID {leitweg_id} ist keinem Rechnungsempfänger zugeordnet.")
    return reasons


@dataclass
class ZreSimulator(KeyedSimulator[UploadedInvoice, str]):
    """All state of the simulated receipt platform, and the rules that move it. `received`
    holds the uploads by id; a forced item is a rejection reason."""

    _leitweg_ids: set[str] = field(default_factory=set)
    credential_expiry: CredentialExpiry = field(default_factory=CredentialExpiry)

    def _clear_state(self) -> None:
        self._leitweg_ids.clear()
        self.credential_expiry.clear()

    def register_leitweg_id(self, leitweg_id: str) -> None:
        self._leitweg_ids.add(leitweg_id.upper())

    def receive(
        self,
        document: BusinessDocument,
        *,
        client_reference: str | None = None,
        forced_reason: str | None = None,
        receiver_unknown: bool = False,
    ) -> UploadedInvoice:
        now = self.clock()
        upload = UploadedInvoice(
            upload_id=str(uuid.uuid4()),
            document=document,
            received_at=now,
            ready_at=now + self.processing_delay,
            forced_reason=forced_reason or self.received.next_forced(),
            client_reference=client_reference,
            receiver_unknown=receiver_unknown,
        )
        self.received.add(upload.upload_id, upload)
        logger.info("ZRE upload %s for Leitweg-ID %s", upload.upload_id, document.buyer_reference)
        return upload

    def _decide(self, upload: UploadedInvoice) -> None:
        reasons = (
            [upload.forced_reason]
            if upload.forced_reason
            else rejection_reasons(upload.document, receiver_unknown=upload.receiver_unknown)
        )
        upload.status = UploadStatus.REJECTED if reasons else UploadStatus.DELIVERED
        upload.reasons = tuple(reasons)
        upload.decided_at = upload.ready_at
