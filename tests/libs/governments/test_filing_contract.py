"""One filing contract, written once and run for every government (as FastStream runs one
abstract suite per broker): the government's real Filer and status follower, as the registry
gives them, against its simulator (services/govsim, in process) and real PostgreSQL.

Every government must: upload a valid document and answer an upload id; find that same upload
by the invoice's own key afterwards, and find an upload whose answer was lost (so a retry never
files twice); report its acceptance through its follower; and answer a document it refuses with
the typed refusal, in its words.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts import create_account
from clearway.accounts.connection_secrets import store_secrets
from clearway.config import Settings
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.domain.ids import new_id, utcnow
from clearway.domain.invoice import InvoiceRequest
from clearway.governments import government
from clearway.governments.base import Government
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.auth import KsefAuthClient
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected
from clearway.pipeline.filing.gate import SubmissionGate
from clearway.pipeline.filing.outcomes import (
    AnswerLost,
    Attempt,
    Filer,
    Refused,
    RejectedUnfiled,
    Uploaded,
)
from clearway.pipeline.filing.service import FilerSetup
from clearway.store import submissions
from clearway.store.events import start_stream
from clearway.store.invoices import InvoiceRef, NewInvoice
from clearway.store.status_polls import Poll
from fastapi import FastAPI

from services.govsim.app import GovsimSettings, create_app
from tests.libs.pipeline.filing_rows import connected_company, schedule_filing
from tests.libs.validation.bodies import clean_body

pytestmark = [pytest.mark.postgres]

FOLLOW_FOR = 15.0  # seconds a test follows an upload for, as the poller would, before it fails

LEASE = dt.timedelta(seconds=30)
# The simulators decide at once: the contract is about what they answer, not when.
INSTANT = GovsimSettings.model_validate(
    {name: 0 for name in GovsimSettings.model_fields if name.endswith("_processing_delay")}
)


@dataclass(frozen=True)
class Company:
    """The supplier's account and party, and where its connection's credentials come from."""

    account_id: str
    supplier: dict[str, Any]
    govsim: FastAPI
    http: httpx.AsyncClient
    settings: Settings


@dataclass(frozen=True)
class Opened:
    """What a test's filing is made with: a database connection, the simulators and the
    client that reaches them, the settings, and what closes the Filers' clients."""

    conn: Connection
    govsim: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    closing: AsyncExitStack


@dataclass
class Filing:
    """One invoice of the government's country, scheduled and claimed: what its Filer works."""

    gov: Government
    filer: Filer
    attempt: Attempt
    context: Any
    http: httpx.AsyncClient

    async def follow(self, uploaded: Uploaded) -> Outcome:
        """The government's follower asked about the upload, as the poller would: again when
        it says Pending (when it says, or soon), until it decides or FOLLOW_FOR has passed. A
        follower may decide only at its next look (RO reads a message list that shows an
        upload a moment after ANAF decided it)."""
        row = self.attempt.submission
        poll = Poll(
            ref=row.ref,
            connection_id=row.connection_id,
            upload_id=uploaded.upload_id,
            version=row.version + 1,
            attempts=1,
            created_at=utcnow(),
            deadline_at=None,
            traceparent=None,
            submitted=dict(uploaded.details),
        )
        follower = self.gov.status_follower(self.context, self.http, livemode=False)
        deadline = time.monotonic() + FOLLOW_FOR
        while True:
            outcome = await follower.follow(self.attempt.conn, poll, [])
            if not isinstance(outcome, Pending) or time.monotonic() > deadline:
                return outcome
            wait = (outcome.at - utcnow()).total_seconds() if outcome.at else 0.5
            await asyncio.sleep(min(max(wait, 0.05), 2.0))


@pytest.fixture(scope="module")
def settings() -> Settings:
    return Settings(database_url="unused", kafka_bootstrap="unused")


class FilingContract:
    """What every government's filing must do; a subclass per government names its code and
    how its simulator is made to refuse a document."""

    code: ClassVar[str]
    # The refused case: the document sent (None: the valid one), and the sandbox scenario.
    refused_document: ClassVar[bytes | None] = None
    refused_scenario: ClassVar[str | None] = None
    # Whether the government refuses it at the upload (Refused, RejectedUnfiled) or takes it
    # and rejects it by its decision (KSeF checks a document after it took it).
    refused_at_upload: ClassVar[bool] = True

    @pytest.fixture
    def govsim(self) -> FastAPI:
        return create_app(INSTANT)

    @pytest_asyncio.fixture
    async def http(self, govsim: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
        """Every government's calls go to the simulators' app, in process."""
        transport = httpx.ASGITransport(app=govsim)
        async with httpx.AsyncClient(transport=transport, base_url="http://govsim") as client:
            yield client

    @pytest_asyncio.fixture
    async def opened(
        self,
        store_db: asyncpg.Pool[Any],
        govsim: FastAPI,
        http: httpx.AsyncClient,
        settings: Settings,
        keyring: Any,
    ) -> AsyncIterator[Opened]:
        del keyring
        async with store_db.acquire() as conn, AsyncExitStack() as closing:
            yield Opened(conn, govsim, http, settings, closing)

    @pytest_asyncio.fixture
    async def filing(self, opened: Opened) -> Filing:
        """A valid document of the government's country, to be filed."""
        return await self._filing(opened)

    @pytest_asyncio.fixture
    async def lost_answer_filing(self, opened: Opened) -> Filing:
        """A valid document whose upload's answer the simulator loses (504) once it took it."""
        return await self._filing(opened, scenario="timeout")

    @pytest_asyncio.fixture
    async def refused_filing(self, opened: Opened) -> Filing:
        """A document the government's simulator refuses (or its scenario makes it refuse)."""
        return await self._filing(
            opened, scenario=self.refused_scenario, document=self.refused_document
        )

    async def _filing(
        self, opened: Opened, *, scenario: str | None = None, document: bytes | None = None
    ) -> Filing:
        conn, http, settings = opened.conn, opened.http, opened.settings
        gov = government(self.code)
        body = clean_body(self.code)
        body["invoiceNumber"] = f"CT-{secrets.token_hex(4)}"
        request = InvoiceRequest.model_validate(body)
        rendered, _xml = gov.formats()[0].render(request, body["invoiceNumber"])
        supplier_vat = body["supplier"]["vatNumber"]
        account_id = await create_account(conn, f"filing contract {self.code}")
        ref = InvoiceRef(
            invoice_id=new_id("inv"), account_id=account_id, country=self.code, livemode=False
        )
        created = await start_stream(
            conn,
            ref,
            NewInvoice(
                supplier_vat=supplier_vat,
                customer_vat=body["customer"].get("vatNumber") or "",
                net_amount=Decimal("200.00"),
                vat_amount=Decimal("0.00"),
                gross_amount=Decimal("200.00"),
                currency=body.get("currency", "EUR"),
                request=request.model_dump(mode="json", by_alias=True, exclude_none=True),
                sandbox_scenario=scenario,
            ),
        )
        company = Company(account_id, body["supplier"], opened.govsim, http, settings)
        connection_id = await self._connection(conn, gov, company)
        queue = await schedule_filing(
            conn,
            ref,
            created.id,
            connection_id,
            rendered if document is None else document,
            document_format=gov.formats()[0].name,
        )
        (claimed,) = await submissions.claim_due(conn, queue, 1, LEASE)
        context: Any = SimpleNamespace(settings=settings)
        route = gov.route(FilerSetup(context, http, livemode=False, closing=opened.closing))
        filer = route(claimed.request)
        return Filing(gov, filer, Attempt(conn, claimed, SubmissionGate(settings)), context, http)

    async def _connection(self, conn: Connection, gov: Government, company: Company) -> str:
        """The company's active connection, as its setup leaves it: its network identifier, its
        channel's certificate, or its access token."""
        supplier = company.supplier
        network = gov.network_credentials(
            vat_number=supplier["vatNumber"],
            peppol_id=supplier.get("peppolId"),
            siret=supplier.get("siret"),
        )
        connection_id = await connected_company(
            conn,
            company.account_id,
            self.code,
            legal_name=supplier["name"],
            vat_number=supplier["vatNumber"],
            network=network,
        )
        await self._credentials(conn, connection_id, company)
        return connection_id

    async def _credentials(self, conn: Connection, connection_id: str, company: Company) -> None:
        """What else the connection holds (a certificate, a token); nothing by default."""

    # --- the contract ------------------------------------------------------------------------

    async def test_a_valid_document_is_uploaded_and_found_again_by_its_own_key(
        self, filing: Filing
    ) -> None:
        document = await filing.attempt.document()
        assert document is not None
        uploaded = await filing.filer.upload(filing.attempt, document)
        assert isinstance(uploaded, Uploaded), uploaded
        assert uploaded.upload_id
        # The answer lost, the invoice's own key finds that same upload: never filed twice.
        # (Looked for after the Filer's own pause, as the machine does: ANAF lists a message a
        # moment after it took it.)
        await asyncio.sleep(filing.filer.first_look_after.total_seconds())
        found = await filing.filer.find(filing.attempt)
        assert isinstance(found, Uploaded), found
        assert found.upload_id == uploaded.upload_id

    async def test_an_upload_whose_answer_was_lost_is_found_not_sent_again(
        self, lost_answer_filing: Filing
    ) -> None:
        filing = lost_answer_filing
        lost = await filing.filer.upload(filing.attempt, await filing.attempt.document() or b"")
        assert isinstance(lost, AnswerLost), lost
        await asyncio.sleep(filing.filer.first_look_after.total_seconds())
        found = await filing.filer.find(filing.attempt)
        assert isinstance(found, Uploaded), found
        assert found.upload_id
        assert isinstance(await filing.follow(found), Accepted)

    async def test_the_follower_reports_the_governments_acceptance(self, filing: Filing) -> None:
        uploaded = await filing.filer.upload(filing.attempt, await filing.attempt.document() or b"")
        assert isinstance(uploaded, Uploaded), uploaded
        decided = await filing.follow(uploaded)
        assert isinstance(decided, Accepted), decided
        assert decided.gov_id
        assert decided.receipt

    async def test_a_refused_document_comes_back_typed_in_the_governments_words(
        self, refused_filing: Filing
    ) -> None:
        filing = refused_filing
        answered = await filing.filer.upload(filing.attempt, await filing.attempt.document() or b"")
        if self.refused_at_upload:
            assert isinstance(answered, Refused | RejectedUnfiled), answered
            messages = answered.messages
        else:
            assert isinstance(answered, Uploaded), answered
            decided = await filing.follow(answered)
            assert isinstance(decided, Rejected), decided
            messages = decided.messages
        assert messages
        assert all(message.strip() for message in messages)


class TestFrance(FilingContract):
    code = "FR"
    refused_document = b"<NotAnInvoice/>"  # 501 Irrecevable: unreadable for the platform


class TestItaly(FilingContract):
    code = "IT"
    refused_document = b""  # SdIRiceviFile: EI01, FILE VUOTO

    async def _credentials(self, conn: Connection, connection_id: str, company: Company) -> None:
        del company
        # Over the sandbox façade's plain HTTP no certificate is presented, but a channel
        # without one cannot send.
        await store_secrets(
            conn,
            connection_id,
            {SecretKind.CERTIFICATE: "certificate", SecretKind.PRIVATE_KEY: "key"},
        )


class TestBelgium(FilingContract):
    code = "BE"
    refused_scenario = "receiver_unknown"  # the SMP does not list the buyer


class TestGermany(FilingContract):
    code = "DE"
    refused_scenario = "receiver_unknown"


class TestRomania(FilingContract):
    code = "RO"
    refused_document = b"<NotAnInvoice/>"  # ANAF's upload answers its errors

    async def _credentials(self, conn: Connection, connection_id: str, company: Company) -> None:
        """An access token ANAF's OAuth issued, as the consent flow leaves it."""
        oauth = company.govsim.state.anaf.oauth
        callback = "https://clearway.test/callback"
        redirect = oauth.authorize(
            response_type="code", client_id=oauth.client_id, redirect_uri=callback, state="s"
        )
        code = parse_qs(urlsplit(redirect).query)["code"][0]
        endpoint = company.settings.governments().anaf.for_mode(False)
        issued = oauth.token(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": callback,
                "client_id": endpoint.client_id,
                "client_secret": endpoint.client_secret,
            },
            None,
        )
        await store_secrets(conn, connection_id, {SecretKind.ACCESS_TOKEN: issued["access_token"]})


class TestPoland(FilingContract):
    code = "PL"
    refused_document = b"<NotAnInvoice/>"  # taken, then rejected as not an FA(3) invoice
    refused_at_upload = False

    async def _credentials(self, conn: Connection, connection_id: str, company: Company) -> None:
        """An access token from KSeF's challenge flow with a KSeF token the portal issued."""
        nip = pl.compact(company.supplier["vatNumber"])
        ksef_token = company.govsim.state.ksef.auth.register_ksef_token(nip)
        endpoint = company.settings.governments().ksef.for_mode(False)
        auth = KsefAuthClient(endpoint.api_url, company.http)
        tokens = await auth.authenticate_with_token(ksef_token, nip)
        await store_secrets(conn, connection_id, {SecretKind.ACCESS_TOKEN: tokens.access_token})
