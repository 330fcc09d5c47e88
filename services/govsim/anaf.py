"""The simulated ANAF e-Factura system: OAuth server, REST API and test-only controls.

Paths, parameters, status codes and Romanian texts follow ANAF's published OpenAPI documents
(upload, stareMesaj, descarcare, listaMesaje) and call limits, so a client written against this
simulator works against the real system by changing base URLs and credentials:

    OAuth   {base}/anaf-oauth2/v1/authorize, /token        (logincert.anaf.ro on the real system)
    REST    {base}/test/FCTEL/rest/..., {base}/prod/FCTEL/rest/...     (api.anaf.ro)

Like ANAF, business errors come back as HTTP 200 with the error in the body (XML <Errors>, or
JSON `eroare`); only missing parameters (400), a bad token (401) and the per-minute limit (429)
use HTTP status codes. `test` and `prod` keep separate messages, as the two real systems do, and
share one OAuth server, as ANAF's do.

An upload is answered at once with an index; its decision (`ok` or `nok`) shows once
`processing_delay` seconds have passed, whenever a request next looks. Everything lives in
memory: this is a simulator.

Sandbox scenarios: an upload carrying `X-Clearway-Sandbox-Scenario` (Clearway sends it for
sk_test_ invoices only) makes the simulator misbehave for that document, counted by its bytes so
that a retry of the same document meets the scenario's later steps (see SandboxScenario).
`download_throttled` and `rejected_inline` act later, on the message: its downloads are throttled
(429 with Retry-After, not counted as downloads), or stareMesaj gives its `nok` errors inline.

The CIF is taken with or without its RO prefix (upload and lists), and a refusal for want of SPV
rights echoes it as given. The per-minute limit answers 429 with Retry-After (when the oldest
call of the minute leaves it) and ANAF's Spring error body.
"""

from __future__ import annotations

import asyncio
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
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, Field

from services.govsim.anaf_documents import (
    DocumentParties,
    RejectedXmlError,
    UploadContext,
    UploadStandard,
    check_root,
    decide,
    normalize_cif,
    parse_hardened,
    read_parties,
)
from services.govsim.anaf_oauth import AnafOAuthServer, Grant, OAuthError
from services.govsim.anaf_responses import (
    error_report,
    sealed_zip,
    status_answer,
    upload_answer,
)
from services.govsim.common import scenario_of

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

logger = logging.getLogger(__name__)

OAUTH_PREFIX = "/anaf-oauth2/v1"
REST_PREFIXES = {"test": "/test/FCTEL/rest", "prod": "/prod/FCTEL/rest"}
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
        self._messages: dict[int, UploadedMessage] = {}
        self._by_download_id: dict[int, UploadedMessage] = {}
        self._pending: set[int] = set()
        self._faults: deque[UploadFault] = deque()
        self._recent_requests: dict[str, deque[float]] = {}
        self._daily_calls: Counter[tuple[str, str]] = Counter()
        self._daily_calls_day: date | None = None
        self._scenario_uploads: Counter[str] = Counter()

    def reset(self, *, tokens: bool) -> None:
        self._messages.clear()
        self._by_download_id.clear()
        self._pending.clear()
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
        self._messages[message.index] = message
        self._pending.add(message.index)
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

    def message_by_download_id(self, download_id: int, environment: str) -> UploadedMessage | None:
        message = self._by_download_id.get(download_id)
        return message if message and message.environment == environment else None

    def all_messages(self) -> list[UploadedMessage]:
        return sorted(self._messages.values(), key=lambda message: message.index)

    def decide_now(self, index: int) -> UploadedMessage | None:
        message = self._messages.get(index)
        if message is not None:
            message.ready_at = min(message.ready_at, self.clock())
            self.settle()
        return message

    def settle(self) -> None:
        """Decide every message whose processing time is over, in upload order."""
        now = self.clock()
        for index in sorted(self._pending):
            message = self._messages[index]
            if message.ready_at <= now:
                self._pending.discard(index)
                self._decide(message, now)

    def _decide(self, message: UploadedMessage, now: float) -> None:
        submission = message.submission
        message.decided_at = now
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

    def download(self, message: UploadedMessage) -> bytes:
        content = (
            message.submission.body
            if message.state is MessageState.OK
            else error_report(
                upload_index=message.index, issuer_cif=message.cif, errors=message.errors
            )
        )
        return sealed_zip(
            upload_index=message.index,
            content=content,
            seal_key=self.seal_key,
            created_at=self.local_time(message.decided_at),
        )

    def listed_messages(self, cif: str, environment: str) -> list[ListedMessage]:
        """The rows an SPV user with rights on `cif` sees, newest first."""
        rows = [
            row
            for message in self._messages.values()
            if message.environment == environment
            for row in _rows_for(message)
            if row.cif == cif
        ]
        return sorted(rows, key=lambda row: (row.created_at, row.download_id), reverse=True)


def _rows_for(message: UploadedMessage) -> Iterator[ListedMessage]:
    """The list rows a decided message makes: for its uploader and, if accepted, its buyer."""
    if message.download_id is None or message.decided_at is None:
        return
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


# === HTTP: the contract of the real system =================================================


def build_anaf_router(simulator: AnafSimulator) -> APIRouter:
    """The OAuth endpoints and the e-Factura REST API under both /test and /prod."""
    router = APIRouter()
    router.include_router(_oauth_router(simulator), prefix=OAUTH_PREFIX)
    for environment, prefix in REST_PREFIXES.items():
        router.include_router(_rest_router(simulator, environment), prefix=prefix)
    return router


def _oauth_router(simulator: AnafSimulator) -> APIRouter:
    router = APIRouter(tags=["ANAF OAuth"])
    oauth = simulator.oauth

    @router.get("/authorize")
    def authorize(
        response_type: str | None = None,
        client_id: str | None = None,
        redirect_uri: str | None = None,
        state: str | None = None,
    ) -> Response:
        # ANAF also takes token_content_type=jwt; every token here is JWT-shaped anyway.
        try:
            location = oauth.authorize(
                response_type=response_type,
                client_id=client_id,
                redirect_uri=redirect_uri,
                state=state,
            )
        except OAuthError as error:
            return JSONResponse(error.body(), status_code=error.status_code)
        return RedirectResponse(location, status_code=HTTPStatus.FOUND)

    @router.post("/token")
    async def token(request: Request) -> Response:
        # Form fields parsed by hand: application/x-www-form-urlencoded needs no extra package.
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        no_store = {"Cache-Control": "no-store", "Pragma": "no-cache"}
        try:
            answer = oauth.token(form, request.headers.get("authorization"))
        except OAuthError as error:
            headers = dict(no_store)
            if error.status_code == HTTPStatus.UNAUTHORIZED:
                headers["WWW-Authenticate"] = 'Basic realm="anaf-oauth2"'
            return JSONResponse(error.body(), status_code=error.status_code, headers=headers)
        return JSONResponse(answer, headers=no_store)

    return router


class UploadQuery(BaseModel):
    standard: str | None = None
    cif: str | None = None
    extern: str | None = None
    autofactura: str | None = None
    executare: str | None = None


class ListQuery(BaseModel):
    zile: str | None = None
    cif: str | None = None
    filtru: str | None = None


class PagedListQuery(BaseModel):
    start_time: str | None = Field(default=None, alias="startTime")
    end_time: str | None = Field(default=None, alias="endTime")
    cif: str | None = None
    pagina: str | None = None
    filtru: str | None = None


def _rest_router(simulator: AnafSimulator, environment: str) -> APIRouter:
    router = APIRouter(tags=[f"ANAF e-Factura ({environment})"])
    _add_upload_routes(router, simulator, environment)
    _add_message_routes(router, simulator, environment)
    _add_list_routes(router, simulator, environment)
    return router


def _add_upload_routes(router: APIRouter, simulator: AnafSimulator, environment: str) -> None:
    @router.post("/upload")
    async def upload(request: Request, query: Annotated[UploadQuery, Query()]) -> Response:
        return await _upload(simulator, environment, request, query, b2c=False)

    @router.post("/uploadb2c")
    async def upload_b2c(request: Request, query: Annotated[UploadQuery, Query()]) -> Response:
        return await _upload(simulator, environment, request, query, b2c=True)


def _add_message_routes(router: APIRouter, simulator: AnafSimulator, environment: str) -> None:
    @router.get("/stareMesaj")
    def message_state(request: Request, id_incarcare: str | None = None) -> Response:
        grant = _admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if id_incarcare is None:
            return _bad_request(simulator, "Parametrul id_incarcare este obligatoriu")
        return _xml(_message_state(simulator, environment, grant, id_incarcare))

    @router.get("/descarcare")
    def download(
        request: Request, download_id: Annotated[str | None, Query(alias="id")] = None
    ) -> Response:
        grant = _admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if download_id is None:
            return _bad_request(simulator, "Parametrul id este obligatoriu")
        return _download(simulator, environment, grant, download_id)


def _add_list_routes(router: APIRouter, simulator: AnafSimulator, environment: str) -> None:
    @router.get("/listaMesajeFactura")
    def message_list(request: Request, query: Annotated[ListQuery, Query()]) -> Response:
        grant = _admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if query.zile is None or query.cif is None:
            return _bad_request(simulator, "Parametrii zile si cif sunt obligatorii")
        return JSONResponse(_message_list(simulator, environment, grant, query))

    @router.get("/listaMesajePaginatieFactura")
    def paged_message_list(request: Request, query: Annotated[PagedListQuery, Query()]) -> Response:
        grant = _admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if None in (query.start_time, query.end_time, query.cif, query.pagina):
            return _bad_request(
                simulator, "Parametrii startTime, endTime, cif si pagina sunt obligatorii"
            )
        return JSONResponse(_paged_message_list(simulator, environment, grant, query))


# --- every REST call: rate limit, then bearer token ------------------------------------------


def _admit(simulator: AnafSimulator, request: Request) -> Grant | Response:
    simulator.settle()
    token = _bearer_token(request)
    caller = (simulator.oauth.client_of(token) if token else None) or (
        f"address:{request.client.host if request.client else '-'}"
    )
    wait = simulator.admit_request(caller)
    if wait:
        return _calls_per_minute_reached(simulator, wait)
    grant = simulator.oauth.grant_for_access_token(token) if token else None
    if grant is None:
        return _spring_error(
            simulator,
            HTTPStatus.UNAUTHORIZED,
            "Token invalid sau expirat" if token else "Lipseste tokenul de acces",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"' if token else "Bearer"},
        )
    return grant


def _bearer_token(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip() or None


# --- upload ----------------------------------------------------------------------------------


async def _upload(
    simulator: AnafSimulator,
    environment: str,
    request: Request,
    query: UploadQuery,
    *,
    b2c: bool,
) -> Response:
    grant = _admit(simulator, request)
    if isinstance(grant, Response):
        return grant
    body = await _read_at_most(request, MAX_UPLOAD_BYTES)
    if not query.standard or not query.cif:
        return _bad_request(simulator, "Parametrii standard si cif sunt obligatorii")
    if body == b"":
        return _bad_request(simulator, "Trebuie sa aveti atasat in request un fisier de tip xml")
    scenario = scenario_of(request)
    fault = (
        await _scenario_answer(simulator, scenario, body, request)
        if scenario is not None and body is not None
        else simulator.take_fault()
    )
    refusal = _fault_answer(simulator, fault) or next(
        _upload_refusals(simulator, grant, query, body), None
    )
    if refusal is not None:
        return refusal if isinstance(refusal, Response) else _upload_failed(simulator, refusal)
    assert body is not None  # an oversized body was refused above
    message = simulator.register_upload(
        Submission(
            environment=environment,
            standard=UploadStandard(query.standard),
            body=body,
            context=UploadContext(
                cif=normalize_cif(query.cif),
                self_billed=query.autofactura == "DA",
                by_enforcement_body=query.executare == "DA",
            ),
            b2c=b2c,
            not_taken=fault is UploadFault.NOT_TAKEN,
            forced_errors=SCENARIO_REJECTION if scenario in REJECTING_SCENARIOS else (),
            scenario=scenario,
        ),
        processing_delay=SLOW_PROCESSING_SECONDS if scenario is SandboxScenario.SLOW else None,
    )
    if message.standard is UploadStandard.RASP:
        simulator.count_today("rasp", message.cif)
    if fault is UploadFault.LOST_RESPONSE:
        return Response("Gateway Timeout", HTTPStatus.GATEWAY_TIMEOUT, media_type="text/plain")
    return _xml(
        upload_answer(date_response=simulator.minute_stamp(), index=message.index, errors=())
    )


# The `reject` scenario's report: ANAF's most common rejection (GOVERNMENTS.md §1), worded as
# the decision stage words CIUS-RO findings.
SCENARIO_REJECTION = (
    (
        "[BR-RO-101]-Dacă Codul țării cumpărătorului (BT-55) este „RO” și Subdiviziunea țării "
        "cumpărătorului (BT-54) este „RO-B” (Municipiul București), Localitatea cumpărătorului "
        "(BT-52) trebuie să fie una dintre valorile SECTOR1 … SECTOR6.\n\t\t#If the Buyer country "
        "code (BT-55) is 'RO' and the Buyer country subdivision (BT-54) is 'RO-B' (Bucharest), the "
        "Buyer city (BT-52) must be one of SECTOR1 ... SECTOR6."
    ),
)
REJECTING_SCENARIOS = {SandboxScenario.REJECT, SandboxScenario.REJECTED_INLINE}
DOWNLOAD_THROTTLES = 11  # `download_throttled`: one more than a message's daily downloads
SLOW_PROCESSING_SECONDS = 8.0  # the `slow` scenario: a decision this long after the upload
SLOW_ANSWER_SECONDS = 1.5  # … and an upload answered this late
TRANSIENT_FAILURES = 2  # the `transient_error` scenario: this many 503s before it works


async def _scenario_answer(
    simulator: AnafSimulator, scenario: SandboxScenario, body: bytes, request: Request
) -> Response | UploadFault | None:
    """What the scenario does to this upload: an answer instead of the upload, a fault for it,
    or None (the upload goes through; `reject` and `slow` act on its processing)."""
    upload = simulator.count_scenario_upload(scenario, body)
    if scenario is SandboxScenario.TRANSIENT_ERROR and upload <= TRANSIENT_FAILURES:
        return UploadFault.HTTP_503
    if scenario is SandboxScenario.RATE_LIMITED and upload == 1:
        return _calls_per_minute_reached(simulator, 1)
    if scenario is SandboxScenario.TOKEN_EXPIRED and upload == 1:
        token = _bearer_token(request)
        if token is not None:
            simulator.oauth.expire(token)
        return _spring_error(
            simulator,
            HTTPStatus.UNAUTHORIZED,
            "Token invalid sau expirat",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    if scenario is SandboxScenario.TIMEOUT and upload == 1:
        return UploadFault.LOST_RESPONSE
    if scenario is SandboxScenario.SLOW:
        await asyncio.sleep(SLOW_ANSWER_SECONDS)
    return None


def _fault_answer(
    simulator: AnafSimulator, fault: UploadFault | Response | None
) -> Response | None:
    """The answer of a queued fault (or a scenario's own answer) that stops the upload before
    anything is registered."""
    if isinstance(fault, Response):
        return fault
    if fault is UploadFault.HTTP_500:
        return _spring_error(simulator, HTTPStatus.INTERNAL_SERVER_ERROR, "")
    if fault is UploadFault.HTTP_503:
        page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return Response(page, HTTPStatus.SERVICE_UNAVAILABLE, media_type="text/html")
    if fault is UploadFault.TECHNICAL_ERROR:
        return _upload_failed(simulator, "A aparut o eroare tehnica. Cod: SIM-500")
    return None


def _upload_refusals(
    simulator: AnafSimulator, grant: Grant, query: UploadQuery, body: bytes | None
) -> Iterator[str]:
    """Why the upload is refused at once, first reason first (texts from ANAF's OpenAPI)."""
    standard, cif = query.standard or "", query.cif or ""
    digits = normalize_cif(cif)  # ANAF takes the CIF with or without its RO prefix
    if body is None:
        yield "Marime fisier transmis mai mare de 10 MB."
    if standard not in UploadStandard.__members__:
        yield "Valorile acceptate pentru parametrul standard sunt UBL, CN, CII sau RASP"
    if not digits.isdigit():
        yield f"CIF introdus= {cif} nu este un numar"
    yield from _flag_refusals(query)
    if not grant.has_any_cif:
        yield "Nu exista niciun CIF pentru care sa aveti drept in SPV"
    if not grant.may_act_for(digits):
        yield f"Nu aveti drept in SPV pentru CIF={cif}"  # the CIF as the caller wrote it
    if standard == UploadStandard.RASP and (
        simulator.calls_today("rasp", digits) >= RASP_UPLOADS_PER_CIF_PER_DAY
    ):
        yield (
            f"S-au incarcat deja {RASP_UPLOADS_PER_CIF_PER_DAY} de mesaje de tip RASP "
            f"pentru cui={digits} in cursul zilei"
        )
    if body is not None and standard in UploadStandard.__members__:
        try:
            check_root(parse_hardened(body), UploadStandard(standard))
        except RejectedXmlError as rejection:
            yield rejection.message


def _flag_refusals(query: UploadQuery) -> Iterator[str]:
    # ANAF names autofactura "autofacturare" in this message.
    for value, name in (
        (query.extern, "extern"),
        (query.autofactura, "autofacturare"),
        (query.executare, "executare"),
    ):
        if value is not None and value != "DA":
            yield f"Daca parametrul {name} trebuie completat, valoarea acceptata este DA"


async def _read_at_most(request: Request, limit: int) -> bytes | None:
    """The request body, or None once it passes `limit` bytes (without reading the rest)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


def _upload_failed(simulator: AnafSimulator, reason: str) -> Response:
    return _xml(upload_answer(date_response=simulator.minute_stamp(), index=None, errors=[reason]))


# --- stareMesaj ------------------------------------------------------------------------------


def _message_state(
    simulator: AnafSimulator, environment: str, grant: Grant, raw_index: str
) -> bytes:
    # Texts verbatim from ANAF's OpenAPI examples, their typos ("petru", "inteorgare") included.
    if not grant.has_any_cif:
        return status_answer(errors=["Nu exista niciun CIF petru care sa aveti drept"])
    if not JAVA_LONG.fullmatch(raw_index):
        return status_answer(errors=[f"Id_incarcare introdus= {raw_index} nu este un numar intreg"])
    message = simulator.message(int(raw_index), environment)
    if message is None:
        return status_answer(errors=[f"Nu exista factura cu id_incarcare= {raw_index}"])
    if not grant.may_act_for(message.cif):
        return status_answer(
            errors=[f"Nu aveti dreptul de inteorgare pentru id_incarcare= {raw_index}"]
        )
    if simulator.count_today("stare", str(message.index)) > STATUS_QUERIES_PER_MESSAGE_PER_DAY:
        # ANAF's only published example of this answer speaks of "descarcari"; kept as is.
        quota_reached = (
            f"S-au facut deja {STATUS_QUERIES_PER_MESSAGE_PER_DAY} descarcari de mesaj "
            "in cursul zilei"
        )
        return status_answer(errors=[quota_reached])
    return _decision_answer(message)


def _decision_answer(message: UploadedMessage) -> bytes:
    if message.submission.scenario is SandboxScenario.REJECTED_INLINE and (
        message.state is MessageState.NOK
    ):
        # `nok` with its errors inline and nothing to download, as the independent one answers.
        return status_answer(state=message.state.value, errors=message.errors)
    return status_answer(state=message.state.value, download_id=message.download_id)


# --- descarcare ------------------------------------------------------------------------------


def _download(simulator: AnafSimulator, environment: str, grant: Grant, raw_id: str) -> Response:
    def refused(reason: str) -> Response:
        return JSONResponse({"eroare": reason, "titlu": "Descarcare mesaj"})

    if not JAVA_LONG.fullmatch(raw_id):
        return refused(f"Id descarcare introdus= {raw_id} nu este un numar intreg")
    message = simulator.message_by_download_id(int(raw_id), environment)
    if message is None:
        return refused(f"Pentru id={raw_id} nu exista inregistrata nici o factura")
    buyer = message.parties.buyer_cif if message.state is MessageState.OK else None
    if not (grant.may_act_for(message.cif) or (buyer is not None and grant.may_act_for(buyer))):
        return refused("Nu aveti dreptul sa descarcati acesta factura")
    throttled = _download_throttled(simulator, message)
    if throttled is not None:
        return throttled
    if simulator.count_today("descarcare", str(message.download_id)) > (
        DOWNLOADS_PER_MESSAGE_PER_DAY
    ):
        return refused(
            f"S-au facut deja {DOWNLOADS_PER_MESSAGE_PER_DAY} descarcari de mesaj in cursul zilei"
        )
    return Response(
        simulator.download(message),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{message.download_id}.zip"'},
    )


def _download_throttled(simulator: AnafSimulator, message: UploadedMessage) -> Response | None:
    """`download_throttled`: the per-minute limit met on this message's first downloads. A
    throttled call is not one of the message's downloads of the day; one that comes back
    before its Retry-After is throttled again and does not bring the end nearer."""
    if message.submission.scenario is not SandboxScenario.DOWNLOAD_THROTTLED:
        return None
    now = simulator.clock()
    if now >= message.throttled_until:
        if message.throttled_downloads >= DOWNLOAD_THROTTLES:
            return None
        message.throttled_downloads += 1
        message.throttled_until = now + 1
    return _calls_per_minute_reached(simulator, max(math.ceil(message.throttled_until - now), 1))


# --- listaMesajeFactura and listaMesajePaginatieFactura --------------------------------------


def _list_refused(reason: str) -> dict[str, Any]:
    return {"eroare": reason, "titlu": "Lista Mesaje"}


def _message_list(
    simulator: AnafSimulator, environment: str, grant: Grant, query: ListQuery
) -> dict[str, Any]:
    raw_days, given = query.zile or "", query.cif or ""
    cif = normalize_cif(given)
    refusal = _days_refusal(raw_days) or _list_refusal(
        grant, given, query.filtru, non_numeric_cif=f"CIF introdus= {given} nu este un numar"
    )
    if refusal is None and simulator.count_today("lista", cif) > SIMPLE_LISTS_PER_CIF_PER_DAY:
        refusal = (
            f"S-au facut deja {SIMPLE_LISTS_PER_CIF_PER_DAY} interogari de lista mesaje "
            "de catre utilizator in cursul zilei"
        )
    if refusal is not None:
        return _list_refused(refusal)
    days = int(raw_days)
    since = simulator.clock() - days * SECONDS_PER_DAY
    rows = [
        row
        for row in _filtered(simulator.listed_messages(cif, environment), query.filtru)
        if row.created_at >= since
    ]
    if not rows:
        return _list_refused(f"Nu exista mesaje in ultimele {days} zile")
    if len(rows) > LIST_PAGE_SIZE:
        return _list_refused(
            f"Lista de mesaje este mai mare decat numarul de {LIST_PAGE_SIZE} elemente permise "
            "in pagina. Folositi endpoint-ul cu paginatie."
        )
    return {
        "mesaje": [_row_json(simulator, row) for row in rows],
        "serial": grant.certificate_serial,
        "cui": cif,
        "titlu": f"Lista Mesaje disponibile din ultimele {days} zile",
    }


def _days_refusal(raw_days: str) -> str | None:
    if not JAVA_LONG.fullmatch(raw_days):
        return f"Numarul de zile introdus= {raw_days} nu este un numar intreg"
    if not 1 <= int(raw_days) <= LIST_MAX_DAYS:
        return f"Numarul de zile trebuie sa fie intre 1 si {LIST_MAX_DAYS}"
    return None


def _paged_message_list(
    simulator: AnafSimulator, environment: str, grant: Grant, query: PagedListQuery
) -> dict[str, Any]:
    cif = normalize_cif(query.cif or "")
    refusal = _paged_query_refusal(simulator, grant, query)
    if refusal is None and simulator.count_today("lista-paginata", cif) > (
        PAGED_LISTS_PER_CIF_PER_DAY
    ):
        refusal = (
            f"S-au facut deja {PAGED_LISTS_PER_CIF_PER_DAY} interogari de lista mesaje "
            "de catre utilizator in cursul zilei"
        )
    if refusal is not None:
        return _list_refused(refusal)
    start, end = int(query.start_time or 0) / 1000, int(query.end_time or 0) / 1000
    page = int(query.pagina or 1)
    rows = [
        row
        for row in _filtered(simulator.listed_messages(cif, environment), query.filtru)
        if start <= row.created_at <= end
    ]
    if not rows:
        return _list_refused("Nu exista mesaje in intervalul selectat")
    pages = (len(rows) + LIST_PAGE_SIZE - 1) // LIST_PAGE_SIZE
    if page > pages:
        return _list_refused(
            f"Pagina solicitata {page} este mai mare decat numarul toatal de pagini {pages}"
        )
    page_rows = rows[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    return {
        "mesaje": [_row_json(simulator, row) for row in page_rows],
        "numar_inregistrari_in_pagina": len(page_rows),
        "numar_total_inregistrari_per_pagina": LIST_PAGE_SIZE,
        "numar_total_inregistrari": len(rows),
        "numar_total_pagini": pages,
        "index_pagina_curenta": page,
        "serial": grant.certificate_serial,
        "cui": cif,
        "titlu": (
            "Lista Mesaje disponibile din intervalul "
            f"{_spring_time(simulator, start)} - {_spring_time(simulator, end)}"
        ),
    }


def _paged_query_refusal(
    simulator: AnafSimulator, grant: Grant, query: PagedListQuery
) -> str | None:
    cif = query.cif or ""
    for name, value in (
        ("startTime", query.start_time or ""),
        ("endTime", query.end_time or ""),
        ("pagina", query.pagina or ""),
    ):
        if not value.isdigit() or (name == "pagina" and int(value) < 1):
            return f"{name} = {value} nu este un numar sau nu are o valoare acceptata de sistem"
    start, end = int(query.start_time or 0) / 1000, int(query.end_time or 0) / 1000
    return _window_refusal(simulator, start, end) or _list_refusal(
        grant,
        cif,
        query.filtru,
        non_numeric_cif=(
            f"CIF introdus= {cif} nu este un numar sau nu are o valoare acceptata de sistem"
        ),
    )


def _window_refusal(simulator: AnafSimulator, start: float, end: float) -> str | None:
    now = simulator.clock()
    if start < now - LIST_MAX_DAYS * SECONDS_PER_DAY:
        return (
            f"startTime = {_spring_time(simulator, start)} nu poate fi mai vechi de "
            f"{LIST_MAX_DAYS} de zile fata de momentul requestului"
        )
    if end <= start:
        return (
            f"endTime = {_spring_time(simulator, end)} nu poate fi <= "
            f"startTime = {_spring_time(simulator, start)}"
        )
    if end > now:
        return (
            f"endTime = {_spring_time(simulator, end)} nu poate in viitor fata de "
            "momentul requestului"
        )
    return None


def _list_refusal(
    grant: Grant, cif: str, list_filter: str | None, *, non_numeric_cif: str
) -> str | None:
    """`cif` as the caller gave it: with or without RO, echoed as given."""
    digits = normalize_cif(cif)
    if not digits.isdigit():
        return non_numeric_cif
    if list_filter is not None and list_filter not in LIST_FILTERS:
        return "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R"
    if not grant.has_any_cif:
        return "Nu exista niciun CIF pentru care sa aveti drept in SPV"
    if not grant.may_act_for(digits):
        return f"Nu aveti drept in SPV pentru CIF={cif}"
    return None


def _filtered(rows: list[ListedMessage], list_filter: str | None) -> list[ListedMessage]:
    if list_filter is None:
        return rows
    kinds = LIST_FILTERS[list_filter]
    return [row for row in rows if row.kind in kinds]


def _row_json(simulator: AnafSimulator, row: ListedMessage) -> dict[str, str]:
    return {
        "data_creare": simulator.minute_stamp(row.created_at),
        "cif": row.cif,
        "id_solicitare": str(row.upload_index),
        "detalii": row.details,
        "tip": row.kind.value,
        "id": str(row.download_id),
    }


# --- response helpers ------------------------------------------------------------------------


def _xml(content: bytes) -> Response:
    return Response(content, media_type="application/xml")


def _spring_time(simulator: AnafSimulator, at: float | None = None) -> str:
    return simulator.local_time(at).strftime("%d-%m-%Y %H:%M:%S")


def _spring_error(
    simulator: AnafSimulator,
    status: HTTPStatus,
    message: str,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """ANAF's non-200 answers: the Spring Boot error body of its OpenAPI documents."""
    body = {
        "timestamp": _spring_time(simulator),
        "status": int(status),
        "error": status.phrase,
        "message": message,
    }
    return JSONResponse(body, status_code=status, headers=headers)


def _calls_per_minute_reached(simulator: AnafSimulator, retry_after: int) -> JSONResponse:
    """ANAF's answer past its per-minute limit: 429, Retry-After, its Spring error body (only
    the opening words of the text are sourced: ANAF's OAuth guide)."""
    return _spring_error(
        simulator,
        HTTPStatus.TOO_MANY_REQUESTS,
        f"S-au facut deja {simulator.requests_per_minute} de apeluri in ultimul minut. "
        "Reincercati mai tarziu.",
        headers={"Retry-After": str(retry_after)},
    )


def _bad_request(simulator: AnafSimulator, message: str) -> JSONResponse:
    return _spring_error(simulator, HTTPStatus.BAD_REQUEST, message)
