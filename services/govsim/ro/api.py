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
import math
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated
from urllib.parse import parse_qsl

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel

from services.govsim.faults import scenario_of
from services.govsim.guard import bearer_token, read_body
from services.govsim.ro.documents import (
    BuyerMessage,
    RejectedXmlError,
    UploadContext,
    UploadStandard,
    check_root,
    normalize_cif,
    parse_hardened,
    read_buyer_message,
)
from services.govsim.ro.http import (
    admit,
    bad_request,
    calls_per_minute_reached,
    spring_error,
    xml_response,
)
from services.govsim.ro.lists import add_list_routes
from services.govsim.ro.oauth import Grant, OAuthError
from services.govsim.ro.responses import status_answer, upload_answer
from services.govsim.ro.state import (
    CONTROL_PREFIX,
    DOWNLOADS_PER_MESSAGE_PER_DAY,
    JAVA_LONG,
    MAX_UPLOAD_BYTES,
    RASP_UPLOADS_PER_CIF_PER_DAY,
    STATUS_QUERIES_PER_MESSAGE_PER_DAY,
    AnafSimulator,
    MessageState,
    Submission,
    UploadedMessage,
    UploadFault,
)

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["CONTROL_PREFIX", "AnafSimulator", "UploadFault", "UploadedMessage", "build_anaf_router"]

OAUTH_PREFIX = "/anaf-oauth2/v1"
REST_PREFIXES = {"test": "/test/FCTEL/rest", "prod": "/prod/FCTEL/rest"}

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


def _rest_router(simulator: AnafSimulator, environment: str) -> APIRouter:
    router = APIRouter(tags=[f"ANAF e-Factura ({environment})"])
    _add_upload_routes(router, simulator, environment)
    _add_message_routes(router, simulator, environment)
    add_list_routes(router, simulator, environment)
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
        grant = admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if id_incarcare is None:
            return bad_request(simulator, "Parametrul id_incarcare este obligatoriu")
        return xml_response(_message_state(simulator, environment, grant, id_incarcare))

    @router.get("/descarcare")
    def download(
        request: Request, download_id: Annotated[str | None, Query(alias="id")] = None
    ) -> Response:
        grant = admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if download_id is None:
            return bad_request(simulator, "Parametrul id este obligatoriu")
        return _download(simulator, environment, grant, download_id)


# --- upload ----------------------------------------------------------------------------------


async def _upload(
    simulator: AnafSimulator,
    environment: str,
    request: Request,
    query: UploadQuery,
    *,
    b2c: bool,
) -> Response:
    grant = admit(simulator, request)
    if isinstance(grant, Response):
        return grant
    body = await read_body(request, MAX_UPLOAD_BYTES)
    if not query.standard or not query.cif:
        return bad_request(simulator, "Parametrii standard si cif sunt obligatorii")
    if body == b"":
        return bad_request(simulator, "Trebuie sa aveti atasat in request un fisier de tip xml")
    scenario = scenario_of(request)
    fault = (
        await _scenario_answer(simulator, scenario, body, request)
        if scenario is not None and body is not None
        else simulator.take_fault()
    )
    refusal = _fault_answer(simulator, fault) or next(
        _upload_refusals(simulator, grant, query, body, environment), None
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
    return xml_response(
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
        return calls_per_minute_reached(simulator, 1)
    if scenario is SandboxScenario.TOKEN_EXPIRED and upload == 1:
        token = bearer_token(request)
        if token is not None:
            simulator.oauth.expire(token)
        return spring_error(
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
        return spring_error(simulator, HTTPStatus.INTERNAL_SERVER_ERROR, "")
    if fault is UploadFault.HTTP_503:
        page = "<html><body><h1>503 Service Unavailable</h1></body></html>"
        return Response(page, HTTPStatus.SERVICE_UNAVAILABLE, media_type="text/html")
    if fault is UploadFault.TECHNICAL_ERROR:
        return _upload_failed(simulator, "A aparut o eroare tehnica. Cod: SIM-500")
    return None


def _upload_refusals(
    simulator: AnafSimulator,
    grant: Grant,
    query: UploadQuery,
    body: bytes | None,
    environment: str,
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
            root = parse_hardened(body)
            check_root(root, UploadStandard(standard))
            if standard == UploadStandard.RASP:
                yield from _rasp_refusals(simulator, read_buyer_message(root), digits, environment)
        except RejectedXmlError as rejection:
            yield rejection.message


def _rasp_refusals(
    simulator: AnafSimulator, message: BuyerMessage, cif: str, environment: str
) -> Iterator[str]:
    """A buyer message answers an invoice `cif` received. ANAF's reference does not say how it
    refuses another index: the simulator borrows its stareMesaj/descarcare wording."""
    if not simulator.received_by(message.invoice_index, cif, environment):
        yield f"Nu exista factura cu id_incarcare= {message.invoice_index}"


def _flag_refusals(query: UploadQuery) -> Iterator[str]:
    # ANAF names autofactura "autofacturare" in this message.
    for value, name in (
        (query.extern, "extern"),
        (query.autofactura, "autofacturare"),
        (query.executare, "executare"),
    ):
        if value is not None and value != "DA":
            yield f"Daca parametrul {name} trebuie completat, valoarea acceptata este DA"


def _upload_failed(simulator: AnafSimulator, reason: str) -> Response:
    return xml_response(
        upload_answer(date_response=simulator.minute_stamp(), index=None, errors=[reason])
    )


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
    return calls_per_minute_reached(simulator, max(math.ceil(message.throttled_until - now), 1))
