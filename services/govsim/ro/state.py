"""The simulated ANAF's state: its messages, quotas, faults and scenarios, and the rules that
move them (decisions, downloads, the rows of the message lists). The HTTP contract is api.py."""

from __future__ import annotations

import hashlib
import itertools
import logging
import math
import re
import secrets
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from clearway.domain.sandbox import SandboxScenario
from lxml import etree

from services.govsim.arrivals import Arrivals
from services.govsim.ro.documents import (
    EXPECTED_ROOT,
    BuyerMessage,
    DocumentParties,
    UploadContext,
    UploadStandard,
    check_root,
    decide,
    parse_hardened,
    read_buyer_message,
    read_parties,
)
from services.govsim.ro.oauth import AnafOAuthServer
from services.govsim.ro.responses import error_report, sealed_zip
from services.govsim.undeliverable import UndeliverableError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

CONTROL_PREFIX = "/_sim/anaf"

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
FIRST_UPLOAD_INDEX = 5_000_000_000  # real indexes are 10-digit numbers around this
FIRST_DOWNLOAD_ID = 3_000_000_000
_EPOCH_2026 = 1_767_225_600


def _never_reused(base: int) -> int:
    """Where a (re)started simulator begins numbering: ANAF's ids only ever grow, so a client
    that keeps its database across simulator restarts (`make run`) must not see one again.
    Tenths of a second since 2026 are added (ids stay 10 digits for years): a restart begins
    above every id of the run before unless that run averaged over 10 uploads a second."""
    return base + max(int((time.time() - _EPOCH_2026) * 10), 0)


# ANAF's call limits (limiteApeluriAPI.txt).
REQUESTS_PER_MINUTE = 1_000
STATUS_QUERIES_PER_MESSAGE_PER_DAY = 100
DOWNLOADS_PER_MESSAGE_PER_DAY = 10
SIMPLE_LISTS_PER_CIF_PER_DAY = 1_500
PAGED_LISTS_PER_CIF_PER_DAY = 100_000
RASP_UPLOADS_PER_CIF_PER_DAY = 1_000

LIST_MAX_DAYS = 60
LIST_PAGE_SIZE = 500
SECONDS_PER_DAY = 86_400
ROMANIA = ZoneInfo("Europe/Bucharest")  # ANAF's timestamps and "per day" are Romanian time
JAVA_LONG = re.compile(r"-?\d{1,18}")  # what ANAF's Long.parseLong accepts, near enough


class MessageState(StrEnum):
    PROCESSING = "in prelucrare"
    OK = "ok"
    NOK = "nok"
    NOT_TAKEN = "XML cu erori nepreluat de sistem"


class UploadFault(StrEnum):
    """Failures a test can queue for the next uploads (control endpoint)."""

    HTTP_500 = "http_500"  # nothing registered, HTTP 500
    HTTP_503 = "http_503"  # nothing registered, HTTP 503 from the gateway
    TECHNICAL_ERROR = "technical_error"  # nothing registered, ExecutionStatus=1 in HTTP 200
    NOT_TAKEN = "not_taken"  # registered, then stare "XML cu erori nepreluat de sistem"
    LOST_RESPONSE = "lost_response"  # registered, but the caller gets HTTP 504 (no index)


class MessageKind(StrEnum):
    """`tip` of a row in the message lists."""

    SENT = "FACTURA TRIMISA"
    RECEIVED = "FACTURA PRIMITA"
    ERRORS = "ERORI FACTURA"
    BUYER_MESSAGE = "MESAJ CUMPARATOR TRANSMIS"


LIST_FILTERS = {  # the `filtru` letters
    "E": {MessageKind.ERRORS},
    "T": {MessageKind.SENT},
    "P": {MessageKind.RECEIVED},
    "R": {MessageKind.BUYER_MESSAGE},
}


@dataclass(frozen=True)
class Submission:
    """An upload that passed the immediate checks, as the processing will see it."""

    environment: str
    standard: UploadStandard
    body: bytes
    context: UploadContext
    b2c: bool
    not_taken: bool  # a queued fault: the processing will give up on it
    forced_errors: tuple[str, ...] = ()  # the `reject` scenario: the report says these
    scenario: SandboxScenario | None = None  # what it does after the upload (throttled, inline)


@dataclass
class UploadedMessage:
    index: int
    submission: Submission
    uploaded_at: float
    ready_at: float
    state: MessageState = MessageState.PROCESSING
    errors: tuple[str, ...] = ()
    parties: DocumentParties = field(default_factory=lambda: DocumentParties(None, None))
    download_id: int | None = None
    decided_at: float | None = None
    throttled_downloads: int = 0  # the `download_throttled` scenario: 429s answered so far
    throttled_until: float = 0.0  # … and when the last one said to come back
    damaged: bool = False  # a delivered purchase invoice whose download is a broken ZIP

    @property
    def cif(self) -> str:
        return self.submission.context.cif

    @property
    def environment(self) -> str:
        return self.submission.environment

    @property
    def standard(self) -> UploadStandard:
        return self.submission.standard


@dataclass(frozen=True)
class ListedMessage:
    """One row of listaMesajeFactura / listaMesajePaginatieFactura."""

    created_at: float
    cif: str
    upload_index: int
    details: str
    kind: MessageKind
    download_id: int


class AnafSimulator:
    """All state of the simulated ANAF, and the rules that move it."""

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: str,
        processing_delay: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clock = clock
        self.oauth = AnafOAuthServer(client_id=client_id, client_secret=client_secret, clock=clock)
        self.default_processing_delay = processing_delay
        self.processing_delay = processing_delay
        self.requests_per_minute = REQUESTS_PER_MINUTE
        self.seal_key = secrets.token_bytes(32)
        # Indexes stay monotonic across resets so a running client never sees one reused.
        self._upload_indexes = itertools.count(_never_reused(FIRST_UPLOAD_INDEX))
        self._download_ids = itertools.count(_never_reused(FIRST_DOWNLOAD_ID))
        # In upload order, which is index order: indexes only grow.
        self._messages: Arrivals[int, UploadedMessage, None] = Arrivals(
            clock=clock, decide=self._decide
        )
        self._by_download_id: dict[int, UploadedMessage] = {}
        self._faults: deque[UploadFault] = deque()
        self._recent_requests: dict[str, deque[float]] = {}
        self._daily_calls: Counter[tuple[str, str]] = Counter()
        self._daily_calls_day: date | None = None
        self._scenario_uploads: Counter[str] = Counter()

    def reset(self, *, tokens: bool) -> None:
        self._messages.clear()
        self._by_download_id.clear()
        self._faults.clear()
        self._scenario_uploads.clear()
        self._recent_requests.clear()
        self._daily_calls.clear()
        self.processing_delay = self.default_processing_delay
        self.requests_per_minute = REQUESTS_PER_MINUTE
        if tokens:
            self.oauth.reset()

    # --- time --------------------------------------------------------------------------------

    def local_time(self, at: float | None = None) -> datetime:
        return datetime.fromtimestamp(self.clock() if at is None else at, ROMANIA)

    def minute_stamp(self, at: float | None = None) -> str:
        """YYYYMMDDHHmm, the format of dateResponse and data_creare."""
        return self.local_time(at).strftime("%Y%m%d%H%M")

    # --- limits ------------------------------------------------------------------------------

    def admit_request(self, caller: str) -> int:
        """The per-minute limit, over a sliding 60-second window per OAuth app (or address):
        0 when admitted, else the whole seconds until the window has room again."""
        now = self.clock()
        window = self._recent_requests.setdefault(caller, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.requests_per_minute:
            return max(math.ceil(window[0] + 60 - now), 1)
        window.append(now)
        return 0

    def count_today(self, quota: str, key: str) -> int:
        """Count one more call against a daily quota; return today's total including it."""
        self._roll_day()
        self._daily_calls[quota, key] += 1
        return self._daily_calls[quota, key]

    def calls_today(self, quota: str, key: str) -> int:
        self._roll_day()
        return self._daily_calls[quota, key]

    def _roll_day(self) -> None:
        today = self.local_time().date()
        if self._daily_calls_day != today:
            self._daily_calls.clear()
            self._daily_calls_day = today

    # --- faults ------------------------------------------------------------------------------

    def queue_faults(self, fault: UploadFault, count: int) -> None:
        self._faults.extend([fault] * count)

    def clear_faults(self) -> None:
        self._faults.clear()

    @property
    def pending_faults(self) -> list[UploadFault]:
        return list(self._faults)

    def take_fault(self) -> UploadFault | None:
        return self._faults.popleft() if self._faults else None

    def count_scenario_upload(self, scenario: SandboxScenario, body: bytes) -> int:
        """How many uploads of this document under this scenario, this one included."""
        key = f"{scenario.value}:{hashlib.sha256(body).hexdigest()}"
        self._scenario_uploads[key] += 1
        return self._scenario_uploads[key]

    # --- messages ----------------------------------------------------------------------------

    def register_upload(
        self, submission: Submission, *, processing_delay: float | None = None
    ) -> UploadedMessage:
        now = self.clock()
        message = UploadedMessage(
            index=next(self._upload_indexes),
            submission=submission,
            uploaded_at=now,
            ready_at=now
            + (self.processing_delay if processing_delay is None else processing_delay),
        )
        self._messages.add(message.index, message)
        logger.info(
            "ANAF %s upload index=%s cif=%s standard=%s",
            message.environment,
            message.index,
            message.cif,
            message.standard.value,
        )
        self.settle()
        return message

    def message(self, index: int, environment: str) -> UploadedMessage | None:
        message = self._messages.get(index)
        return message if message and message.environment == environment else None

    def received_by(self, index: int, cif: str, environment: str) -> bool:
        """Whether the invoice uploaded with `index` is in `cif`'s inbox (FACTURA PRIMITA)."""
        self.settle()
        message = self.message(index, environment)
        return message is not None and any(
            row.cif == cif and row.kind is MessageKind.RECEIVED for row in _rows_for(message)
        )

    def buyer_messages(self) -> list[tuple[UploadedMessage, BuyerMessage]]:
        """Every RASP upload taken, with what it says, in upload order."""
        return [
            (message, read_buyer_message(parse_hardened(message.submission.body)))
            for message in self._messages.all()
            if message.standard is UploadStandard.RASP
        ]

    def message_by_download_id(self, download_id: int, environment: str) -> UploadedMessage | None:
        message = self._by_download_id.get(download_id)
        return message if message and message.environment == environment else None

    def all_messages(self) -> list[UploadedMessage]:
        return self._messages.all()

    def decide_now(self, index: int) -> UploadedMessage | None:
        return self._messages.decide_now(index)

    def settle(self) -> None:
        """Decide every message whose processing time is over, in upload order."""
        self._messages.settle()

    def _decide(self, message: UploadedMessage) -> None:
        submission = message.submission
        message.decided_at = self.clock()
        if submission.not_taken:
            message.state = MessageState.NOT_TAKEN
        else:
            root = parse_hardened(submission.body)  # it parsed at upload, so it parses again
            message.parties = read_parties(root, submission.standard)
            message.errors = submission.forced_errors or tuple(
                decide(root, submission.standard, submission.context)
            )
            message.state = MessageState.NOK if message.errors else MessageState.OK
            message.download_id = next(self._download_ids)
            self._by_download_id[message.download_id] = message
        logger.info("ANAF decided index=%s stare=%s", message.index, message.state.value)

    def deliver(
        self, body: bytes, *, buyer_cif: str, environment: str, damaged: bool = False
    ) -> UploadedMessage:
        """A purchase invoice its supplier uploaded, decided at once: a `FACTURA PRIMITA` row
        for its buyer (and `FACTURA TRIMISA` for the supplier), as ANAF lists an accepted
        invoice. Raises RejectedXmlError when the document would not be taken, and
        UndeliverableError when it would not be accepted or is not for `buyer_cif`."""
        root = parse_hardened(body)
        standard = next(
            (standard for standard, tag in EXPECTED_ROOT.items() if etree.QName(root) == tag),
            UploadStandard.UBL,
        )
        check_root(root, standard)
        parties = read_parties(root, standard)
        if parties.seller_cif is None:
            raise UndeliverableError(["the invoice names no Romanian seller CIF"])
        if parties.buyer_cif != buyer_cif:
            raise UndeliverableError(
                [f"the invoice's buyer is {parties.buyer_cif}, not {buyer_cif}"]
            )
        if parties.seller_cif == buyer_cif:  # ANAF lists such an invoice as sent only
            raise UndeliverableError(["the invoice's seller is its buyer"])
        context = UploadContext(
            cif=parties.seller_cif, self_billed=False, by_enforcement_body=False
        )
        errors = decide(root, standard, context)
        if errors:  # refused before anything is registered: no one's list shows it
            raise UndeliverableError(errors)
        submission = Submission(
            environment=environment,
            standard=standard,
            body=body,
            context=context,
            b2c=False,
            not_taken=False,
        )
        message = self.register_upload(submission, processing_delay=0)  # decided as it lands
        message.damaged = damaged
        return message

    def download(self, message: UploadedMessage) -> bytes:
        content = (
            message.submission.body
            if message.state is MessageState.OK
            else error_report(
                upload_index=message.index, issuer_cif=message.cif, errors=message.errors
            )
        )
        archive = sealed_zip(
            upload_index=message.index,
            content=content,
            seal_key=self.seal_key,
            created_at=self.local_time(message.decided_at),
        )
        # A damaged delivery breaks off halfway, as a download cut short would.
        return archive[: len(archive) // 2] if message.damaged else archive

    def listed_messages(self, cif: str, environment: str) -> list[ListedMessage]:
        """The rows an SPV user with rights on `cif` sees, newest first."""
        rows = [
            row
            for message in self._messages.all()
            if message.environment == environment
            for row in _rows_for(message)
            if row.cif == cif
        ]
        return sorted(rows, key=lambda row: (row.created_at, row.download_id), reverse=True)


def _rows_for(message: UploadedMessage) -> Iterator[ListedMessage]:
    """The list rows a decided message makes: for its uploader and, if accepted, its buyer."""
    if message.download_id is None or message.decided_at is None:
        return
    if message.submission.scenario is SandboxScenario.REJECTED_INLINE and (
        message.state is MessageState.NOK
    ):
        return  # its stareMesaj gives no id_descarcare: there is no message to list
    created_at, download_id = message.decided_at, message.download_id

    def row(cif: str, kind: MessageKind, details: str) -> ListedMessage:
        return ListedMessage(created_at, cif, message.index, details, kind, download_id)

    if message.state is MessageState.NOK:
        details = (
            f"Erori de validare identificate la factura primita cu id_incarcare={message.index}"
        )
        yield row(message.cif, MessageKind.ERRORS, details)
    elif message.standard is UploadStandard.RASP:
        details = f"Mesaj cumparator transmis cu id_incarcare={message.index}"  # simulator's words
        yield row(message.cif, MessageKind.BUYER_MESSAGE, details)
    else:
        buyer = message.parties.buyer_cif
        details = (
            f"Factura cu id_incarcare={message.index} emisa de cif_emitent={message.cif} "
            f"pentru cif_beneficiar={buyer or ''}"
        )
        yield row(message.cif, MessageKind.SENT, details)
        if buyer and buyer != message.cif:
            yield row(buyer, MessageKind.RECEIVED, details)
