"""Without a stack: what the submitters' and the poller's clients call for a live invoice when
the live configuration points at a local fake (http://127.0.0.1:<port>), what they call for a
sandbox one, and that an unconfigured live government makes no call at all."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from clearway.config import LiveNotConfiguredError, Settings, live_or_error
from clearway.domain.ids import utcnow
from clearway.governments.de.client import ZreClient
from clearway.governments.peppol.client import PeppolClient
from clearway.governments.peppol.filing import PeppolFiler, ZreFiler
from clearway.governments.ro.client import AnafClient
from clearway.governments.ro.oauth import authorization_url
from clearway.pipeline.decisions import Accepted, Pending
from clearway.pipeline.filing.service import filer_in_mode, work_by_mode
from clearway.store.invoices import InvoiceRef
from clearway.store.status_polls import Poll
from clearway.store.submissions import ClaimedSubmission

from services.poller.handlers import followers_for
from services.stack.infra import free_port

SANDBOX = "http://127.0.0.1:8090"  # the simulator's address in Settings' defaults
UPLOADED = (
    b'<header xmlns="mfp:anaf:dgti:spv:respUploadFisier:v1" dateResponse="202501151000" '
    b'ExecutionStatus="0" index_incarcare="42"/>'
)


class FakeGovernments:
    """Answers every call like a content government would, and remembers each request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path.endswith("/upload"):
            return httpx.Response(200, content=UPLOADED)
        if "/documents/" in path:
            return httpx.Response(
                200,
                json={
                    "status": "delivered",
                    "as4MessageId": "as4-1",
                    "receiverId": "0208:0403170701",
                    "deliveredAt": "2025-01-15T10:00:00Z",
                    "mls": {"responseCode": "AP"},
                },
            )
        return httpx.Response(200, json={"documents": [], "invoices": []})

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.MockTransport(self.handle))


@pytest.fixture
def live_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def settings(live_url: str) -> Settings:
    """Live ANAF and Peppol point at the local fake; live ZRE, KSeF, SDI and the PA are not
    configured."""
    return Settings.from_env(
        {
            "DATABASE_URL": "postgresql://db/clearway",
            "KAFKA_BOOTSTRAP": "127.0.0.1:9092",
            "ANAF_LIVE_REST_URL": f"{live_url}/prod/FCTEL/rest",
            "ANAF_LIVE_OAUTH_URL": f"{live_url}/anaf-oauth2/v1",
            "ANAF_LIVE_CLIENT_ID": "clearway-live",
            "ANAF_LIVE_CLIENT_SECRET": "live-secret",
            "PEPPOL_LIVE_AP_URL": f"{live_url}/peppol",
            "PEPPOL_LIVE_AP_API_KEY": "live-ap-key",
        }
    )


async def test_a_live_anaf_upload_goes_to_the_live_url(settings: Settings, live_url: str) -> None:
    fake = FakeGovernments()
    anaf = settings.governments().anaf
    async with fake.client() as http:
        live = live_or_error(anaf, lambda endpoint: AnafClient(endpoint.rest_url, http))
        assert isinstance(live, AnafClient)
        sandbox = AnafClient(anaf.for_mode(False).rest_url, http)
        assert (await live.upload(b"<Invoice/>", cif="1234", token="t")).upload_id == "42"  # noqa: S106
        await sandbox.upload(b"<Invoice/>", cif="1234", token="t")  # noqa: S106
    live_call, sandbox_call = fake.requests
    assert str(live_call.url).startswith(f"{live_url}/prod/FCTEL/rest/upload?")
    assert str(sandbox_call.url).startswith(f"{SANDBOX}/test/FCTEL/rest/upload?")


def test_a_live_ro_connection_is_authorized_at_live_anaf_with_the_live_client_id(
    settings: Settings, live_url: str
) -> None:
    anaf = settings.governments().anaf.for_mode(True)
    url = authorization_url(anaf.oauth_url, anaf.client_id, "https://cw.test/cb", "conn_1")
    assert url.startswith(f"{live_url}/anaf-oauth2/v1/authorize?")
    assert parse_qs(urlsplit(url).query)["client_id"] == ["clearway-live"]


async def test_a_live_peppol_send_uses_the_live_access_point_and_key(
    settings: Settings, live_url: str
) -> None:
    fake = FakeGovernments()
    peppol = settings.governments().peppol
    async with fake.client() as http:

        def make(ap: Any) -> PeppolFiler:
            return PeppolFiler(PeppolClient(ap.ap_url, ap.ap_api_key, http, country="BE"))

        for livemode in (True, False):
            channel = filer_in_mode(peppol, make, livemode=livemode)()
            assert await channel.lookup("ref-1", []) is None
    live_call, sandbox_call = fake.requests
    assert str(live_call.url).startswith(f"{live_url}/peppol/documents?")
    assert live_call.headers["Authorization"] == "Bearer live-ap-key"
    assert str(sandbox_call.url).startswith(f"{SANDBOX}/peppol/documents?")
    assert sandbox_call.headers["Authorization"] == f"Bearer {settings.peppol.ap_api_key}"


async def test_an_unconfigured_live_channel_refuses_before_any_call(settings: Settings) -> None:
    fake = FakeGovernments()
    async with fake.client() as http:
        zre = filer_in_mode(
            settings.governments().zre,
            lambda platform: ZreFiler(ZreClient(platform.url, platform.api_key, http)),
            livemode=True,
        )
        with pytest.raises(LiveNotConfiguredError) as refused:
            zre()
    assert refused.value.missing == ("ZRE_LIVE_URL", "ZRE_LIVE_API_KEY")
    assert fake.requests == []


async def test_the_poller_follows_a_live_invoice_at_the_live_system_only(
    settings: Settings, live_url: str
) -> None:
    fake = FakeGovernments()
    context: Any = SimpleNamespace(settings=settings)
    poll = Poll(
        ref=InvoiceRef(invoice_id="inv_1", account_id="acc_1", country="BE", livemode=True),
        connection_id="conn_1",
        upload_id="doc-1",
        version=2,
        attempts=1,
        created_at=utcnow(),
        deadline_at=None,
        traceparent=None,
        submitted={},
    )
    async with fake.client() as http:
        live = followers_for(context, http, livemode=True)
        sandbox = followers_for(context, http, livemode=False)
        assert isinstance(await live["BE"].follow(None, poll, []), Accepted)  # type: ignore[arg-type]
        assert isinstance(await sandbox["BE"].follow(None, poll, []), Accepted)  # type: ignore[arg-type]
        # No live French platform: the invoice waits, naming the settings; nothing is asked.
        asked = len(fake.requests)
        waiting = await live["FR"].follow(None, poll, [])  # type: ignore[arg-type]
    assert isinstance(waiting, Pending)
    assert "FR_PA_LIVE_URL" in waiting.reason
    assert "FR_PA_LIVE_API_KEY" in waiting.reason
    assert len(fake.requests) == asked
    live_call, sandbox_call = fake.requests
    assert str(live_call.url) == f"{live_url}/peppol/documents/doc-1"
    assert live_call.headers["Authorization"] == "Bearer live-ap-key"
    assert str(sandbox_call.url) == f"{SANDBOX}/peppol/documents/doc-1"


async def test_each_row_is_worked_by_its_invoices_modes_submitter() -> None:
    worked: list[tuple[str, str]] = []

    def submitter(mode: str) -> Any:
        async def work(submission: ClaimedSubmission) -> None:
            worked.append((mode, submission.ref.invoice_id))

        return work

    work = work_by_mode(submitter("sandbox"), submitter("live"))
    for invoice_id, livemode in (("inv_test", False), ("inv_live", True)):
        ref = InvoiceRef(
            invoice_id=invoice_id, account_id="acct_1", country="RO", livemode=livemode
        )
        await work(ClaimedSubmission.model_construct(ref=ref))
    assert worked == [("sandbox", "inv_test"), ("live", "inv_live")]
