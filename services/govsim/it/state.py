"""The simulated SDI's state: files received, their checks and outcome (RC, NS, MC) after the
processing delay, the notifications it emits, and a public administration's esito and the
timers behind DT and AT. The HTTP contract is api.py."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from services.govsim.arrivals import ReceivingSimulator
from services.govsim.faults import CredentialExpiry
from services.govsim.it.delivery import PurchaseFile, RecipientChannel
from services.govsim.it.documents import (
    FATTURA_DUPLICATA,
    NO_CHANNEL,
    NOME_FILE_DUPLICATO,
    Errore,
    InvoiceKey,
    NotificationHeader,
    Transmission,
    check_file,
    check_file_name,
    committente_esito,
    error_list,
    invoice_reference,
    leaf,
    notification_xml,
    recipient,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lxml import etree


logger = logging.getLogger(__name__)

ROME = ZoneInfo("Europe/Rome")
FIRST_IDENTIFICATIVO = 4_000_000_000  # real identifiers are 9-12 digit integers
FIRST_MESSAGE_ID = 10_000_000_000
PA_RETRY_SECONDS = 10 * 86_400  # MC to a PA: SDI retries for 10 days, then AT
PA_ESITO_SECONDS = 15 * 86_400  # RC to a PA: no esito in 15 days brings DT


class Outcome(StrEnum):
    DELIVERED = "RC"
    REFUSED = "NS"
    NOT_DELIVERED = "MC"


@dataclass(frozen=True)
class Notification:
    tipo: str
    nome_file: str
    emitted_at: float
    message_id: str
    xml: bytes


@dataclass(frozen=True)
class ForcedOutcome:
    outcome: Outcome
    errors: tuple[Errore, ...]


@dataclass
class ReceivedFile:
    identificativo: int
    name: str
    content: bytes
    received_at: float
    ready_at: float
    forced: ForcedOutcome | None
    outcome: Outcome | None = None
    transmission: Transmission | None = None
    notifications: list[Notification] = field(default_factory=list)
    esito: str | None = None  # EC01 / EC02, once the PA answered

    @property
    def to_public_administration(self) -> bool:
        return self.transmission is not None and self.transmission.to_public_administration


@dataclass
class SdiSimulator(ReceivingSimulator[int, ReceivedFile, ForcedOutcome]):
    """All state of the simulated SDI, and the rules that move it. `received` holds the files
    by IdentificativoSdI. SDICoop publishes no call limit: the rate limit is unlimited until a
    test sets one."""

    # Identifiers stay monotonic across resets so a running client never sees one reused.
    _identificativi: Iterator[int] = field(
        default_factory=lambda: itertools.count(FIRST_IDENTIFICATIVO)
    )
    _message_ids: Iterator[int] = field(default_factory=lambda: itertools.count(FIRST_MESSAGE_ID))
    _awaiting_pa: dict[int, ReceivedFile] = field(default_factory=dict)  # a DT or AT may follow
    _names: set[str] = field(default_factory=set)
    _issued: set[InvoiceKey] = field(default_factory=set)
    certificate_expiry: CredentialExpiry = field(default_factory=CredentialExpiry)  # Clearway's
    # The recipient's channel SDI delivers purchase invoices to (Clearway's receiver; None: no
    # channel configured), and the files delivered to it by IdentificativoSdI (delivery.py).
    channel: RecipientChannel | None = None
    purchases: dict[int, PurchaseFile] = field(default_factory=dict)

    def _clear_state(self) -> None:
        self.purchases.clear()
        self._awaiting_pa.clear()
        self._names.clear()
        self._issued.clear()
        self.certificate_expiry.clear()

    def local_time(self, at: float) -> str:
        return datetime.fromtimestamp(at, UTC).astimezone(ROME).isoformat(timespec="milliseconds")

    # --- receiving -------------------------------------------------------------------------

    def receive(
        self,
        name: str,
        content: bytes,
        *,
        forced: ForcedOutcome | None = None,
        processing_delay: float | None = None,
    ) -> ReceivedFile:
        """Register a file; `forced` and `processing_delay` are a sandbox scenario's."""
        now = self.clock()
        delay = self.processing_delay if processing_delay is None else processing_delay
        received = ReceivedFile(
            identificativo=next(self._identificativi),
            name=name,
            content=content,
            received_at=now,
            ready_at=now + delay,
            forced=forced or self.received.next_forced(),
        )
        self.received.add(received.identificativo, received)
        logger.info("SDI file %s received as %s", name, received.identificativo)
        self.settle()
        return received

    def purchase_file(self, name: str, content: bytes, formato: str) -> PurchaseFile:
        """A file a supplier sent for the channel's buyer, numbered as SDI numbers what it
        receives, kept to be delivered (and delivered again)."""
        purchase = PurchaseFile(
            identificativo=next(self._identificativi),
            name=name,
            content=content,
            formato=formato,
            message_id=str(next(self._message_ids)),
        )
        self.purchases[purchase.identificativo] = purchase
        return purchase

    def files_named(self, name: str) -> list[ReceivedFile]:
        """Files received under `name`, oldest first (SDI issues at most the first)."""
        return [received for received in self.received.all() if received.name == name]

    # --- processing: each file decided once its delay is over, in arrival order; then the PA
    # timers (`_follow_up`) ------------------------------------------------------------------

    def _decide(self, received: ReceivedFile) -> None:
        errors, transmission = self._check(received)
        received.transmission = transmission
        forced = received.forced
        if forced is not None:
            outcome, errors = forced.outcome, forced.errors
        elif errors:
            outcome = Outcome.REFUSED
        elif transmission is not None and _no_channel(transmission):
            outcome = Outcome.NOT_DELIVERED
        else:
            outcome = Outcome.DELIVERED
        if outcome is Outcome.REFUSED and not errors:
            errors = (Errore("00200", "File non conforme al formato"),)
        received.outcome = outcome
        if outcome is not Outcome.REFUSED and transmission is not None:
            self._issued.update(transmission.invoices)
        self._names.add(received.name)
        self._notify_outcome(received, errors)
        logger.info("SDI file %s: %s", received.identificativo, outcome.value)
        if received.to_public_administration and outcome is not Outcome.REFUSED:
            self._awaiting_pa[received.identificativo] = received

    def _check(self, received: ReceivedFile) -> tuple[tuple[Errore, ...], Transmission | None]:
        bad_name = check_file_name(received.name)
        if bad_name is not None:
            return (bad_name,), None
        if received.name in self._names:
            return (NOME_FILE_DUPLICATO,), None
        checked = check_file(received.name, received.content)
        if checked.errors or checked.transmission is None:
            return checked.errors, None
        transmission = checked.transmission
        if any(invoice in self._issued for invoice in transmission.invoices):
            return (FATTURA_DUPLICATA,), transmission
        return (), transmission

    def _notify_outcome(self, received: ReceivedFile, errors: tuple[Errore, ...]) -> None:
        at = received.ready_at
        header_fields = [leaf("DataOraRicezione", self.local_time(received.received_at))]
        if received.outcome is Outcome.REFUSED:
            self._emit(received, "NS", "NotificaScarto", at, [*header_fields, error_list(errors)])
        elif received.outcome is Outcome.NOT_DELIVERED:
            description = (
                "Impossibilità di recapito: SDI ritenterà l'invio all'amministrazione"
                if received.to_public_administration
                else "La fattura è stata messa a disposizione del cessionario/committente "
                "nella sua area riservata"
            )  # wording UNCONFIRMED
            self._emit(
                received,
                "MC",
                "NotificaMancataConsegna",
                at,
                [*header_fields, leaf("Descrizione", description)],
            )
        else:
            code = received.transmission.recipient_code if received.transmission else ""
            delivered = [
                *header_fields,
                leaf("DataOraConsegna", self.local_time(at)),
                recipient(code, f"Destinatario {code}"),
            ]
            self._emit(received, "RC", "RicevutaConsegna", at, delivered)

    def _follow_up(self, now: float) -> None:
        for identificativo, received in list(self._awaiting_pa.items()):
            if self._run_pa_timer(received, now):
                del self._awaiting_pa[identificativo]

    def _run_pa_timer(self, received: ReceivedFile, now: float) -> bool:
        """Emit AT (10 days after MC) or DT (15 days after RC) when due; True once settled."""
        if received.esito is not None:
            return True
        if received.outcome is Outcome.NOT_DELIVERED:
            at = received.ready_at + PA_RETRY_SECONDS
            if now < at:
                return False
            fields = [
                leaf("DataOraRicezione", self.local_time(received.received_at)),
                recipient(self._recipient_code(received), "Amministrazione non raggiungibile"),
            ]
            self._emit(received, "AT", "AttestazioneTrasmissioneFattura", at, fields)
            return True
        at = received.ready_at + PA_ESITO_SECONDS
        if now < at:
            return False
        fields = [
            *self._invoice_references(received),
            leaf("Descrizione", "Decorsi i termini per la notifica di esito"),
        ]
        self._emit(received, "DT", "NotificaDecorrenzaTermini", at, fields)
        return True

    def record_esito(self, received: ReceivedFile, esito: str, descrizione: str) -> bool:
        """The PA's EC01/EC02, relayed to the sender as NE; False when it is not expected now."""
        self.settle()
        kinds = {notification.tipo for notification in received.notifications}
        if (
            not received.to_public_administration
            or received.outcome is not Outcome.DELIVERED
            or received.esito is not None
            or "DT" in kinds
        ):
            return False
        received.esito = esito
        invoices = received.transmission.invoices if received.transmission else ()
        fields = [
            committente_esito(
                received.identificativo, invoices[0] if invoices else None, esito, descrizione
            )
        ]
        self._emit(received, "NE", "NotificaEsito", self.clock(), fields)
        return True

    def _emit(
        self,
        received: ReceivedFile,
        tipo: str,
        root_name: str,
        at: float,
        fields: list[etree._Element],
    ) -> None:
        message_id = str(next(self._message_ids))
        header = NotificationHeader(
            identificativo_sdi=received.identificativo,
            nome_file=received.name,
            data_ora_ricezione=self.local_time(received.received_at),
            message_id=message_id,
        )
        stem = received.name.split(".", 1)[0]
        sequence = sum(1 for notification in received.notifications if notification.tipo == tipo)
        received.notifications.append(
            Notification(
                tipo=tipo,
                nome_file=f"{stem}_{tipo}_{sequence + 1:03d}.xml",
                emitted_at=at,
                message_id=message_id,
                xml=notification_xml(root_name, header, fields),
            )
        )

    def _recipient_code(self, received: ReceivedFile) -> str:
        return received.transmission.recipient_code if received.transmission else ""

    def _invoice_references(self, received: ReceivedFile) -> list[etree._Element]:
        invoices = received.transmission.invoices if received.transmission else ()
        return [invoice_reference(invoice) for invoice in invoices[:1]]


def _no_channel(transmission: Transmission) -> bool:
    """Nothing to deliver to: code 0000000 with no PEC (B2B), in this sandbox the only MC."""
    return transmission.recipient_code == NO_CHANNEL and not transmission.recipient_pec
