"""The state of the simulated KSeF 2.0 and the rules that move it: online sessions, invoices
and their verdicts, UPOs. The HTTP contract around it is in api.py.

An invoice is accepted at once (202) and decided when its processing delay is over: its status
goes 100, then 150 past half the delay, then its final code. A closed session reports 170 until
its invoices are decided and its own processing delay has passed, then 200 with the collective
UPO (or 440 when nothing was sent, 445 when nothing succeeded).
"""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from services.govsim.arrivals import Arrivals
from services.govsim.faults import FaultQueue
from services.govsim.pl.auth import (
    DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
    INVOICE_NOT_FOUND,
    SESSION_NOT_FOUND,
    SESSION_NOT_OPEN,
    SESSION_UNAVAILABLE,
    AuthOperation,
    KsefAuthority,
    KsefError,
)
from services.govsim.pl.crypto import (
    AES_KEY_BYTES,
    DecryptionError,
    KeyUsage,
    aes_cbc_decrypt,
    ksef_number,
    reference_number,
    rsa_decrypt,
    sha256_b64,
)
from services.govsim.pl.documents import NAMESPACES, InvoiceFacts, verify_invoice
from services.govsim.pl.repository import (
    INVOICE_TYPES,
    StoredInvoice,
    missing,
    not_yet,
    read_stored,
)
from services.govsim.rate_limits import RateLimit, Refusal, SlidingWindowLimiter
from services.govsim.undeliverable import UndeliverableError
from services.govsim.untrusted_xml import UntrustedXmlError, child_text, parse_untrusted_xml

if TYPE_CHECKING:
    from services.govsim.clock import Clock

logger = logging.getLogger(__name__)

WARSAW = ZoneInfo("Europe/Warsaw")
SESSION_LIFETIME_SECONDS = 12 * 3600  # "Czas życia sesji interaktywnej wynosi 12 godzin"


class RateGroup(StrEnum):
    """The documented limit groups (the `grupa` column of the OpenAPI)."""

    PUBLIC = "public"  # challenge, auth, keys: 60 req/s per IP address
    ONLINE_SESSION = "onlineSession"
    INVOICE_SEND = "invoiceSend"
    INVOICE_STATUS = "invoiceStatus"
    SESSION_INVOICE_LIST = "sessionInvoiceList"
    SESSION_MISC = "sessionMisc"
    INVOICE_METADATA = "invoiceMetadata"
    INVOICE_DOWNLOAD = "invoiceDownload"


DEFAULT_RATE_LIMITS = {
    RateGroup.PUBLIC: RateLimit(per_second=60),
    RateGroup.ONLINE_SESSION: RateLimit(100, 300, 1200),
    RateGroup.INVOICE_SEND: RateLimit(100, 300, 1800),
    RateGroup.INVOICE_STATUS: RateLimit(300, 1200, 7200),
    RateGroup.SESSION_INVOICE_LIST: RateLimit(100, 200, 2000),
    RateGroup.SESSION_MISC: RateLimit(100, 1200, 7200),
    RateGroup.INVOICE_METADATA: RateLimit(8, 16, 20),
    RateGroup.INVOICE_DOWNLOAD: RateLimit(8, 16, 64),
}
STORAGE_LAG_SECONDS = 1.0  # from the KSeF number to the permanent storage (permanentStorageDate)

SESSION_STATUS_DESCRIPTIONS = {  # the interactive-session rows of the documented table
    100: "Sesja interaktywna otwarta",
    170: "Sesja interaktywna zamknięta",
    200: "Sesja interaktywna przetworzona pomyślnie",
    415: "Błąd odszyfrowania dostarczonego klucza",
    440: "Sesja anulowana",
    445: "Błąd weryfikacji, brak poprawnych faktur",
}


# --- state -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentInvoice:
    """The body of POST /sessions/online/{ref}/invoices, decoded."""

    invoice_hash: str
    invoice_size: int
    encrypted_hash: str
    encrypted_size: int
    encrypted_content: bytes


@dataclass(frozen=True)
class ForcedOutcome:
    code: int
    details: tuple[str, ...]


@dataclass
class SessionInvoice:
    reference_number: str
    ordinal_number: int
    session: OnlineSession
    received_at: float
    ready_at: float
    sent: SentInvoice
    forced: ForcedOutcome | None
    code: int = 100
    details: tuple[str, ...] = ()
    extensions: dict[str, str] | None = None
    facts: InvoiceFacts | None = None
    ksef_number: str | None = None
    acquired_at: float | None = None
    content: bytes | None = None  # the decrypted invoice, kept once accepted

    @property
    def decided(self) -> bool:
        return self.code not in {100, 150}

    @property
    def succeeded(self) -> bool:
        return self.code == HTTPStatus.OK


@dataclass
class OnlineSession:
    reference_number: str
    operation: AuthOperation
    symmetric_key: bytes | None  # None: the key did not decrypt (session status 415)
    iv: bytes
    opened_at: float
    valid_until: float
    processing_delay: float
    closed_at: float | None = None
    updated_at: float = 0.0
    invoices: list[SessionInvoice] = field(default_factory=list)
    upo_reference: str | None = None
    unavailable: bool = False  # sends refused with 21184 (a control: KSeF's maintenance)

    @property
    def context_nip(self) -> str:
        return self.operation.context_nip


class KsefSimulator:
    """All state of the simulated KSeF, and the rules that move it."""

    def __init__(
        self,
        *,
        processing_delay: float,
        access_token_lifetime: float = DEFAULT_ACCESS_TOKEN_LIFETIME_SECONDS,
        clock: Clock = time.time,
    ) -> None:
        self.clock = clock
        self.auth = KsefAuthority(clock=clock, access_token_lifetime=access_token_lifetime)
        self.default_processing_delay = processing_delay
        self.processing_delay = processing_delay
        self.faults = FaultQueue()
        self.rate_limits = dict(DEFAULT_RATE_LIMITS)
        self.limiter = SlidingWindowLimiter(clock)
        self.seal_key = secrets.token_bytes(32)
        self._sessions: dict[str, OnlineSession] = {}
        self.invoices: Arrivals[str, SessionInvoice, ForcedOutcome] = Arrivals(
            clock=clock, decide=self._decide
        )
        self._accepted: dict[tuple[str, str, str], SessionInvoice] = {}
        self.repository: list[StoredInvoice] = []  # every accepted invoice, as stored for good

    def reset(self) -> None:
        self.auth.reset()
        self.processing_delay = self.default_processing_delay
        self.faults.clear()
        self.rate_limits = dict(DEFAULT_RATE_LIMITS)
        self.limiter.clear()
        self._sessions.clear()
        self.invoices.clear()
        self._accepted.clear()
        self.repository.clear()

    # --- time ------------------------------------------------------------------------------

    def utc(self, at: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.clock() if at is None else at, UTC)

    def warsaw(self, at: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.clock() if at is None else at, WARSAW)

    def stamp(self, at: float | None = None) -> str:
        return self.utc(at).isoformat()

    # --- limits ----------------------------------------------------------------------------

    def over_limit(self, group: RateGroup, caller: str) -> Refusal | None:
        return self.limiter.admit(f"{group}|{caller}", self.rate_limits[group])

    # --- sessions --------------------------------------------------------------------------

    def open_session(
        self, operation: AuthOperation, encrypted_key: str, iv: bytes
    ) -> OnlineSession:
        try:
            key: bytes | None = rsa_decrypt(KeyUsage.SYMMETRIC_KEY_ENCRYPTION, encrypted_key)
        except DecryptionError:
            key = None
        if key is not None and len(key) != AES_KEY_BYTES:
            key = None
        now = self.clock()
        session = OnlineSession(
            reference_number=reference_number("SO", self.utc()),
            operation=operation,
            symmetric_key=key,
            iv=iv,
            opened_at=now,
            valid_until=now + SESSION_LIFETIME_SECONDS,
            processing_delay=self.processing_delay,
            updated_at=now,
        )
        self._sessions[session.reference_number] = session
        logger.info(
            "KSeF session %s opened for NIP %s", session.reference_number, operation.context_nip
        )
        return session

    def session(self, reference: str, context_nip: str) -> OnlineSession:
        session = self._sessions.get(reference)
        if session is None or session.context_nip != context_nip:
            raise KsefError(
                SESSION_NOT_FOUND, "Nie znaleziono sesji.", [f"Sesja {reference} nie istnieje."]
            )
        return session

    def session_is_open(self, session: OnlineSession) -> bool:
        self._auto_close(session)
        return session.closed_at is None

    def check_sendable(self, session: OnlineSession) -> None:
        """KsefError unless an invoice may be sent in the session now: 21180 once it is closed
        (by its client or at validUntil), 21184 while it is temporarily unavailable."""
        if not self.session_is_open(session):
            code, _ = self.session_status(session)
            raise session_not_open(session, f"Status sesji ({code}) uniemożliwia wysyłkę faktur.")
        if session.unavailable:
            detail = (
                f"Trwają prace serwisowe i sesja {session.reference_number} jest tymczasowo "
                "niedostępna. Spróbuj ponownie później lub otwórz nową sesję, aby wysłać "
                "kolejne faktury."
            )
            raise KsefError(SESSION_UNAVAILABLE, "Sesja tymczasowo niedostępna.", [detail])

    def expire_session(self, session: OnlineSession) -> None:
        """Its 12 hours over now: KSeF closes it as at validUntil (a control)."""
        session.valid_until = min(session.valid_until, self.clock())
        self._auto_close(session)

    def close_session(self, session: OnlineSession) -> None:
        if not self.session_is_open(session):
            raise session_not_open(session)
        session.closed_at = session.updated_at = self.clock()

    def _auto_close(self, session: OnlineSession) -> None:
        if session.closed_at is None and self.clock() >= session.valid_until:
            session.closed_at = session.updated_at = session.valid_until

    def session_status(self, session: OnlineSession) -> tuple[int, list[str]]:
        self.settle()
        self._auto_close(session)
        if session.symmetric_key is None:
            return 415, []
        if session.closed_at is None:
            return 100, []
        if not session.invoices:
            return 440, ["Nie przesłano faktur"]
        busy = any(not invoice.decided for invoice in session.invoices)
        if busy or self.clock() < session.closed_at + session.processing_delay:
            return 170, []
        if not any(invoice.succeeded for invoice in session.invoices):
            return 445, []
        if session.upo_reference is None:
            session.upo_reference = reference_number("EU", self.utc())
            session.updated_at = session.closed_at + session.processing_delay
        return 200, []

    # --- invoices --------------------------------------------------------------------------

    def accept_invoice(self, session: OnlineSession, sent: SentInvoice) -> SessionInvoice:
        now = self.clock()
        invoice = SessionInvoice(
            reference_number=reference_number("EE", self.utc()),
            ordinal_number=len(session.invoices) + 1,
            session=session,
            received_at=now,
            ready_at=now + self.processing_delay,
            sent=sent,
            forced=self.invoices.next_forced(),
        )
        session.invoices.append(invoice)
        session.updated_at = now
        self.invoices.add(invoice.reference_number, invoice)
        self.settle()
        return invoice

    def invoice(self, session: OnlineSession, reference: str) -> SessionInvoice:
        invoice = self.invoices.get(reference)
        if invoice is None or invoice.session is not session:
            raise KsefError(
                INVOICE_NOT_FOUND,
                "Nie znaleziono faktury.",
                [f"Faktura {reference} nie istnieje w sesji {session.reference_number}."],
            )
        return invoice

    def invoice_by_ksef_number(self, session: OnlineSession, number: str) -> SessionInvoice:
        self.settle()
        for invoice in session.invoices:
            if invoice.ksef_number == number:
                return invoice
        raise KsefError(
            INVOICE_NOT_FOUND,
            "Nie znaleziono faktury.",
            [f"Faktura o numerze KSeF {number} nie istnieje w sesji {session.reference_number}."],
        )

    def invoice_status(self, invoice: SessionInvoice) -> int:
        self.settle()
        if (
            not invoice.decided
            and self.clock() >= invoice.received_at + (invoice.ready_at - invoice.received_at) / 2
        ):
            return 150
        return invoice.code

    def all_sessions(self) -> list[OnlineSession]:
        self.settle()
        return list(self._sessions.values())

    def settle(self) -> None:
        """Decide every invoice whose processing is over, in the order they arrived."""
        self.invoices.settle()

    def _decide(self, invoice: SessionInvoice) -> None:
        code, details, facts = self._verdict(invoice)
        invoice.details = details
        invoice.facts = facts
        if code == HTTPStatus.OK and facts is not None:
            key = (facts.seller_nip, facts.invoice_number, facts.invoice_kind)
            original = self._accepted.get(key)
            if original is not None and original.ksef_number is not None:
                code = 440
                # The documented example's wording.
                duplicate = (
                    f"Duplikat faktury. Faktura o numerze KSeF: {original.ksef_number} została "
                    f"już prawidłowo przesłana do systemu w sesji: "
                    f"{original.session.reference_number}"
                )
                invoice.details = (duplicate,)
                invoice.extensions = {
                    "originalSessionReferenceNumber": original.session.reference_number,
                    "originalKsefNumber": original.ksef_number,
                }
            else:
                invoice.acquired_at = invoice.ready_at
                invoice.ksef_number = ksef_number(facts.seller_nip, self.warsaw(invoice.ready_at))
                self._accepted[key] = invoice
                self._store(invoice)
        invoice.code = code
        invoice.session.updated_at = invoice.ready_at
        logger.info(
            "KSeF invoice %s in session %s: %s",
            invoice.reference_number,
            invoice.session.reference_number,
            code,
        )

    def _store(self, invoice: SessionInvoice) -> None:
        """An accepted invoice into the repository its buyer and seller query."""
        assert invoice.content is not None
        assert invoice.ksef_number is not None
        assert invoice.acquired_at is not None
        self.repository.append(
            read_stored(
                parse_untrusted_xml(invoice.content),  # it parsed when it was verified
                invoice.content,
                ksef_number=invoice.ksef_number,
                invoice_hash=invoice.sent.invoice_hash,
                invoicing_at=invoice.received_at,
                acquired_at=invoice.acquired_at,
                stored_at=invoice.acquired_at + STORAGE_LAG_SECONDS,
            )
        )

    def deliver(self, content: bytes, *, buyer_nip: str) -> StoredInvoice:
        """A purchase invoice its seller sent, accepted, numbered and stored at once (the
        sandbox control): what KSeF would have taken from the seller, for `buyer_nip`.
        Raises UndeliverableError with KSeF's reasons otherwise."""
        try:
            root = parse_untrusted_xml(content)
        except UntrustedXmlError as error:
            raise UndeliverableError([error.message]) from None
        seller_nip = child_text(root, "fa:Podmiot1/fa:DaneIdentyfikacyjne/fa:NIP", NAMESPACES)
        verdict = verify_invoice(content, context_nip=seller_nip, received_on=self.warsaw().date())
        if verdict.facts is None or verdict.code != HTTPStatus.OK:
            raise UndeliverableError([f"{verdict.code}", *verdict.details])
        facts = verdict.facts
        key = (facts.seller_nip, facts.invoice_number, facts.invoice_kind)
        kind = INVOICE_TYPES.get(facts.invoice_kind, "Vat")
        if key in self._accepted or any(
            (stored.seller_nip, stored.invoice_number, stored.invoice_type) == (*key[:2], kind)
            for stored in self.repository
        ):
            raise UndeliverableError(["440 Duplikat faktury"])
        now = self.clock()
        stored = read_stored(
            root,
            content,
            ksef_number=ksef_number(facts.seller_nip, self.warsaw(now)),
            invoice_hash=sha256_b64(content),
            invoicing_at=now,
            acquired_at=now,
            stored_at=now,
        )
        if (stored.buyer_type, stored.buyer_value) != ("Nip", buyer_nip):
            raise UndeliverableError(
                [f"the invoice's buyer is {stored.buyer_value or 'unnamed'}, not NIP {buyer_nip}"]
            )
        self.repository.append(stored)
        logger.info("KSeF stored purchase invoice %s for NIP %s", stored.ksef_number, buyer_nip)
        return stored

    def stored(self, number: str, context_nip: str) -> StoredInvoice:
        """The invoice `number`, to its seller or buyer; KsefError 21164/21165 otherwise."""
        self.settle()
        for stored in self.repository:
            if stored.ksef_number == number and context_nip in {
                stored.seller_nip,
                stored.buyer_value,
            }:
                if stored.stored_at > self.clock():
                    raise not_yet(number)
                return stored
        raise missing(number)

    def _verdict(self, invoice: SessionInvoice) -> tuple[int, tuple[str, ...], InvoiceFacts | None]:
        sent, session = invoice.sent, invoice.session
        if invoice.forced is not None:
            return invoice.forced.code, invoice.forced.details, None
        if session.symmetric_key is None:
            return 405, ("Nie udało się odszyfrować klucza symetrycznego sesji.",), None
        if sent.encrypted_size != len(sent.encrypted_content) or sent.encrypted_hash != sha256_b64(
            sent.encrypted_content
        ):
            return 430, ("Skrót lub rozmiar zaszyfrowanej faktury nie zgadza się z treścią.",), None
        try:
            plaintext = aes_cbc_decrypt(sent.encrypted_content, session.symmetric_key, session.iv)
        except DecryptionError as error:
            return 435, (f"Nie udało się odszyfrować faktury: {error}",), None
        if sent.invoice_size != len(plaintext) or sent.invoice_hash != sha256_b64(plaintext):
            return 430, ("Skrót lub rozmiar faktury nie zgadza się z odszyfrowaną treścią.",), None
        verdict = verify_invoice(
            plaintext,
            context_nip=session.context_nip,
            received_on=self.warsaw(invoice.received_at).date(),
        )
        invoice.content = plaintext
        return verdict.code, verdict.details, verdict.facts


def session_not_open(session: OnlineSession, detail: str | None = None) -> KsefError:
    """21180; KSeF's detail on a send names the session's status (CIRFMF/ksef-api#641)."""
    return KsefError(
        SESSION_NOT_OPEN,
        "Status sesji nie pozwala na wykonanie operacji.",
        [detail or f"Sesja {session.reference_number} jest zamknięta."],
    )
