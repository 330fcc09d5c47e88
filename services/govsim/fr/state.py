"""The simulated French platform's state: deposits and their CDAR lifecycle (200 Déposée to
213 Rejetée, 501 Irrecevable), the check and the duplicate rule after the processing delay, and
the statuses the buyer and seller add later. The HTTP contract is api.py."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from services.govsim.fr.documents import (
    ReadInvoice,
    Rejection,
    UnreadableFileError,
    check_invoice,
    duplicate_key,
    read_deposit,
)
from services.govsim.fr.incoming import IncomingFlow, IncomingFlows
from services.govsim.fr.lifecycle import STATUS_LABELS, StatusEntry
from services.govsim.keyed import KeyedSimulator
from services.govsim.undeliverable import UndeliverableError

logger = logging.getLogger(__name__)


MANDATORY_STATUSES = frozenset({200, 210, 212, 213})
# What a buyer says of an invoice it received, through its own platform.
BUYER_STATUSES = frozenset({204, 205, 206, 207, 208, 210})
FINAL_STATUSES = frozenset({210, 212, 213, 501})
NEEDS_REASON = frozenset({207, 208, 210, 213})
# Which status may follow which, for the ones set by the control: the simulator's reading of
# the lifecycle (the buyer processes, disputes, approves or refuses; payment and cashing follow
# approval). UNCONFIRMED in its details.
NEXT_STATUSES = {
    203: frozenset({204, 205, 206, 207, 208, 210}),
    204: frozenset({205, 206, 207, 208, 210}),
    207: frozenset({205, 206, 208, 210}),
    208: frozenset({209}),
    209: frozenset({204, 205, 206, 207, 210}),
    205: frozenset({211, 212}),
    206: frozenset({211, 212}),
    211: frozenset({212}),
}


@dataclass
class DepositedInvoice:
    invoice_id: str
    deposited_at: float
    ready_at: float
    processing_delay: float
    read: ReadInvoice | None  # None: Irrecevable
    forced_rejection: Rejection | None
    content: bytes = b""  # the file as deposited: what the buyer receives once it is routed
    history: list[StatusEntry] = field(default_factory=list)

    @property
    def current(self) -> StatusEntry:
        return self.history[-1]


@dataclass
class FrPaSimulator(KeyedSimulator[DepositedInvoice, Rejection]):
    """All state of the simulated platform, and the rules that move it. `received` holds the
    deposits by id; a forced item is a rejection."""

    _routing: dict[str, DepositedInvoice] = field(default_factory=dict)  # 201 until 203
    _issued: dict[tuple[str, str, str], str] = field(default_factory=dict)
    # What other platforms routed to the companies this platform serves (incoming.py).
    incoming: IncomingFlows = field(default_factory=IncomingFlows)

    def _clear_state(self) -> None:
        self._routing.clear()
        self._issued.clear()
        self.incoming.clear()

    def deposit(self, content: bytes) -> tuple[DepositedInvoice, str | None]:
        """Register a deposit; the reason is set when the file is Irrecevable."""
        now = self.clock()
        reason: str | None = None
        try:
            read: ReadInvoice | None = read_deposit(content)
        except UnreadableFileError as error:
            read, reason = None, str(error)
        invoice = DepositedInvoice(
            invoice_id=str(uuid.uuid4()),
            deposited_at=now,
            ready_at=now + self.processing_delay,
            processing_delay=self.processing_delay,
            read=read,
            content=content,
            forced_rejection=self.received.next_forced() if read else None,
        )
        first = StatusEntry(200, now) if read else StatusEntry(501, now, reason, "IRRECEVABLE")
        invoice.history.append(first)
        # Only a readable deposit is checked; an Irrecevable one is final at once.
        self.received.add(invoice.invoice_id, invoice, undecided=read is not None)
        logger.info("PA invoice %s deposited: %s", invoice.invoice_id, first.label)
        return invoice, reason

    def _follow_up(self, now: float) -> None:
        for invoice_id, invoice in list(self._routing.items()):
            self._route(invoice, now)
            if invoice.current.code == 203:  # Mise à disposition: routed
                del self._routing[invoice_id]
                self._hand_to_buyer(invoice, now)

    def _hand_to_buyer(self, invoice: DepositedInvoice, now: float) -> None:
        """The routed invoice in its buyer's incoming flows: every SIREN is served here. It is
        listed from `now`, when it is seen routed, never earlier: a buyer that has read its
        flows up to now misses none."""
        assert invoice.read is not None  # only a readable invoice is routed
        buyer = invoice.read.document.buyer.legal_id
        try:
            self.incoming.deliver(invoice.content, buyer_siren=buyer, at=now)
        except UndeliverableError as refused:  # it passed the same checks to be routed
            logger.warning("PA invoice %s not handed to %s: %s", invoice.invoice_id, buyer, refused)

    def _decide(self, invoice: DepositedInvoice) -> None:
        """The check and the duplicate rule: 201 Émise (then routed) or 213 Rejetée."""
        assert invoice.read is not None  # only readable deposits are checked
        document = invoice.read.document
        rejection = invoice.forced_rejection or check_invoice(document)
        key = duplicate_key(document)
        if rejection is None and key in self._issued:
            rejection = Rejection(
                "REJ_UNI", f"Doublon : facture déjà émise (dépôt {self._issued[key]})"
            )
        if rejection is not None:
            invoice.history.append(
                StatusEntry(213, invoice.ready_at, rejection.reason, rejection.code)
            )
            return
        self._issued[key] = invoice.invoice_id
        invoice.history.append(StatusEntry(201, invoice.ready_at))
        self._routing[invoice.invoice_id] = invoice

    def _route(self, invoice: DepositedInvoice, now: float) -> None:
        """201 Émise, then 202 Reçue and 203 Mise à disposition, half a delay apart."""
        step = invoice.processing_delay / 2
        for code in (202, 203):
            at = invoice.ready_at + step * (code - 201)
            if invoice.current.code == code - 1 and at <= now:
                invoice.history.append(StatusEntry(code, at))

    def add_status(self, invoice: DepositedInvoice, code: int, reason: str | None) -> str | None:
        """Record a buyer's or seller's status; the refusal text when it cannot follow now."""
        self.settle()
        current = invoice.current.code
        if code not in NEXT_STATUSES.get(current, frozenset()):
            return f"{code} cannot follow {current} {STATUS_LABELS[current]}"
        if code in NEEDS_REASON and not reason:
            return f"{code} {STATUS_LABELS[code]} needs a reason"
        invoice.history.append(StatusEntry(code, self.clock(), reason))
        return None

    def add_buyer_status(
        self, flow: IncomingFlow, code: int, reason: str | None, reason_code: str | None
    ) -> str | None:
        """Record the buyer's status on an invoice it received; the refusal text when it is not
        a buyer's status or cannot follow now."""
        current = flow.lifecycle[-1].code
        if code not in BUYER_STATUSES or code not in NEXT_STATUSES.get(current, frozenset()):
            return f"{code} ne peut pas suivre {current} {STATUS_LABELS[current]}"
        if code in NEEDS_REASON and not reason:
            return f"{code} {STATUS_LABELS[code]} : motif obligatoire"
        flow.lifecycle.append(StatusEntry(code, self.clock(), reason, reason_code))
        return None
