"""ANAF's status follower (governments/ro/status.py) against the simulated ANAF, in process, with
real PostgreSQL for the connection's token and ANAF's quotas: one read of the company's message
list answers many uploads, accepted and rejected, each ZIP is downloaded once; stareMesaj answers
only what the list cannot; the list's limits are kept."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.domain.ids import new_id, utcnow
from clearway.governments.ro import status
from clearway.governments.ro.client import (
    AnafClient,
    error_report_messages,
    paged_list_quota,
    status_list_share,
)
from clearway.governments.ro.settings import AnafSettings
from clearway.governments.ro.status import AnafStatusFollower
from clearway.pipeline.decisions import Accepted, Outcome, Pending, Rejected
from clearway.resilience.ratelimit import quota_day
from clearway.store.invoices import InvoiceRef
from clearway.store.status_polls import Poll

from services.govsim.app import GovsimSettings, create_app
from services.govsim.ro import lists
from services.govsim.ro.state import AnafSimulator, UploadFault
from tests.libs.governments.ro.connected import anaf_connection
from tests.services.govsim.ro.test_anaf_sim import invoice_xml

pytestmark = [pytest.mark.postgres]

LIST = "GET /listaMesajePaginatieFactura"
STATUS = "GET /stareMesaj"
DOWNLOAD = "GET /descarcare"


@dataclass
class Anaf:
    """A connected company, the simulated ANAF it files with (on the real clock: the follower
    reads it; nothing is decided until a test says so), and the pool its polls run on."""

    cif: str
    connection_id: str
    simulator: AnafSimulator
    app: Any
    http: httpx.AsyncClient
    host: str
    token: str
    pool: asyncpg.Pool[Any]

    def follower(self, *, every: float = 3600, silence: float = 3600) -> AnafStatusFollower:
        settings = Settings(
            database_url="unused",
            kafka_bootstrap="unused",
            anaf=AnafSettings(
                rest_url=f"{self.host}/test/FCTEL/rest",
                oauth_url=f"{self.host}/anaf-oauth2/v1",
                status_list_every=every,
                status_list_silence=silence,
            ),
        )
        endpoint = settings.governments().anaf.for_mode(False)
        return AnafStatusFollower(settings, self.http, endpoint)

    async def upload(self, xml: bytes | None = None) -> str:
        client = AnafClient(f"{self.host}/test/FCTEL/rest", self.http)
        document = xml or invoice_xml(seller_cif=f"RO{self.cif}")
        result = await client.upload(document, cif=self.cif, token=self.token)
        assert result.upload_id is not None, result.errors
        return result.upload_id

    def decide(self, *upload_ids: str) -> None:
        for upload_id in upload_ids:
            assert self.simulator.decide_now(int(upload_id)) is not None

    def calls(self) -> dict[str, int]:
        counts: dict[str, int] = self.app.state.calls.as_json().get("RO", {})
        return {endpoint: n for endpoint, n in counts.items() if endpoint != "POST /upload"}

    def poll(self, upload_id: str, *, age: dt.timedelta = dt.timedelta(0)) -> Poll:
        ref = InvoiceRef(invoice_id=new_id("inv"), account_id="acct", country="RO", livemode=False)
        return Poll(
            ref=ref,
            connection_id=self.connection_id,
            upload_id=upload_id,
            version=3,
            attempts=1,
            created_at=utcnow() - age,
            deadline_at=None,
            traceparent=None,
            submitted={},
        )

    async def follow(
        self, follower: AnafStatusFollower, polls: list[Poll]
    ) -> tuple[list[Outcome], list[list[GovCall]]]:
        """The polls followed at once, as the poll machine follows a claimed batch."""
        calls: list[list[GovCall]] = [[] for _ in polls]

        async def one(poll: Poll, made: list[GovCall]) -> Outcome:
            async with self.pool.acquire() as conn:
                return await follower.follow(conn, poll, made)

        outcomes = await asyncio.gather(*(one(p, c) for p, c in zip(polls, calls, strict=True)))
        return list(outcomes), calls


@pytest_asyncio.fixture
async def anaf(store_db: asyncpg.Pool[Any], keyring: Any) -> AsyncIterator[Anaf]:
    simulator = AnafSimulator(
        client_id="clearway-sandbox",
        client_secret="clearway-sandbox-secret",  # noqa: S106 - the simulator's public default
        processing_delay=3600,  # decided when a test says (decide_now)
    )
    app = create_app(GovsimSettings(), anaf=simulator)
    # A host of its own: ANAF's per-minute bucket is keyed by the REST base, shared by tests.
    host = f"http://anaf-{secrets.token_hex(4)}"
    cif = str(secrets.randbelow(10**8) + 10**8)  # its own paged-list quota
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=host) as http,
        store_db.acquire() as conn,
    ):
        connection_id, access_token = await anaf_connection(conn, simulator, cif, "status RO")
        yield Anaf(cif, connection_id, simulator, app, http, host, access_token, store_db)


async def _listed_soon() -> None:
    """ANAF refuses an endTime in its future, so a read ends a second ago: let that second go."""
    await asyncio.sleep(1.1)


async def test_one_list_read_answers_many_uploads_accepted_and_rejected_each_downloaded_once(
    anaf: Anaf,
) -> None:
    accepted = [await anaf.upload() for _ in range(5)]
    wrong_total = invoice_xml(seller_cif=f"RO{anaf.cif}", total="99.00")
    rejected = [await anaf.upload(wrong_total) for _ in range(2)]
    anaf.decide(*accepted, *rejected)
    await _listed_soon()

    polls = [anaf.poll(upload_id) for upload_id in accepted + rejected]
    outcomes, calls = await anaf.follow(anaf.follower(), polls)

    assert anaf.calls() == {LIST: 1, DOWNLOAD: 7}  # no stareMesaj at all
    # The list call is the one poll's that made it; each poll made its own download.
    made = [[call.endpoint for call in poll_calls] for poll_calls in calls]
    assert sum(endpoints.count(LIST) for endpoints in made) == 1
    assert all(endpoints.count(DOWNLOAD) == 1 for endpoints in made)
    for upload_id, outcome in zip(accepted, outcomes[:5], strict=True):
        message = anaf.simulator.message(int(upload_id), "test")
        assert message is not None
        assert isinstance(outcome, Accepted)
        assert outcome.gov_id == str(message.download_id)
        assert outcome.receipt == anaf.simulator.download(message)  # the sealed ZIP
    for upload_id, outcome in zip(rejected, outcomes[5:], strict=True):
        message = anaf.simulator.message(int(upload_id), "test")
        assert message is not None
        assert isinstance(outcome, Rejected)
        assert outcome.gov_id == str(message.download_id)
        assert outcome.report is not None
        assert outcome.messages == error_report_messages(outcome.report)
        assert outcome.messages[0].startswith("[BR-CO-10]")


async def test_the_list_is_read_once_per_interval_and_later_decisions_come_with_the_next_read(
    anaf: Anaf,
) -> None:
    first, second = await anaf.upload(), await anaf.upload()
    anaf.decide(first)
    await _listed_soon()
    follower = anaf.follower(every=1.5)

    outcomes, _ = await anaf.follow(follower, [anaf.poll(first), anaf.poll(second)])
    assert isinstance(outcomes[0], Accepted)
    assert isinstance(outcomes[1], Pending)  # not listed yet, and young: no stareMesaj
    # Asked again when the list is read again, not at the cadence.
    assert outcomes[1].at is not None
    assert utcnow() < outcomes[1].at <= utcnow() + dt.timedelta(seconds=1.5)
    anaf.decide(second)
    [again], _ = await anaf.follow(follower, [anaf.poll(second)])
    assert isinstance(again, Pending)  # the view is fresh: ANAF is not asked again
    assert anaf.calls() == {LIST: 1, DOWNLOAD: 1}

    await asyncio.sleep(1.6)
    [decided], _ = await anaf.follow(follower, [anaf.poll(second)])
    assert isinstance(decided, Accepted)
    assert anaf.calls() == {LIST: 2, DOWNLOAD: 2}


async def test_a_window_longer_than_a_read_takes_counts_as_read_and_stare_mesaj_answers_the_rest(
    anaf: Anaf, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two rows a page, two pages a read: five decisions are one page more than a read takes.
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    monkeypatch.setattr(status, "MAX_LIST_PAGES", 2)
    uploads = [await anaf.upload() for _ in range(5)]
    anaf.decide(*uploads)
    await _listed_soon()
    follower = anaf.follower(silence=0)

    outcomes, _ = await anaf.follow(follower, [anaf.poll(upload_id) for upload_id in uploads])
    assert anaf.calls()[LIST] == 2  # the two pages a read takes, not a third
    # Not asked again at the next read (it would be, every read, were it not marked read).
    view = follower._lists[anaf.connection_id]  # noqa: SLF001 - the view's reach is the point
    assert view.read_to is not None
    # The decision on the page left unread came from stareMesaj: every upload is decided.
    assert all(isinstance(outcome, Accepted) for outcome in outcomes)
    assert anaf.calls()[STATUS] == 1


async def test_an_upload_the_list_never_shows_is_asked_about_with_stare_mesaj_after_the_silence(
    anaf: Anaf,
) -> None:
    await anaf.http.post("/_sim/anaf/faults", json={"kind": UploadFault.NOT_TAKEN, "count": 1})
    not_taken = await anaf.upload()
    anaf.decide(not_taken)
    await _listed_soon()
    follower = anaf.follower(every=0.01, silence=30)

    [young], _ = await anaf.follow(follower, [anaf.poll(not_taken)])
    assert isinstance(young, Pending)
    assert STATUS not in anaf.calls()

    await asyncio.sleep(0.02)  # past `every`: the list is read again
    [old], calls = await anaf.follow(follower, [anaf.poll(not_taken, age=dt.timedelta(seconds=31))])
    assert isinstance(old, Rejected)
    assert old.messages == ("XML cu erori nepreluat de sistem",)
    assert [call.endpoint for call in calls[0]] == [LIST, STATUS]  # the list, then stareMesaj


async def test_an_upload_older_than_the_lists_reach_is_answered_by_stare_mesaj(
    anaf: Anaf,
) -> None:
    upload_id = await anaf.upload()
    anaf.decide(upload_id)
    await _listed_soon()
    # Filed 61 days ago as far as the poll knows: beyond what ANAF lists.
    [outcome], calls = await anaf.follow(
        anaf.follower(silence=10), [anaf.poll(upload_id, age=dt.timedelta(days=61))]
    )
    assert isinstance(outcome, Accepted)  # the list read now has it anyway
    assert [call.endpoint for call in calls[0]] == [LIST, DOWNLOAD]

    late = await anaf.upload()
    anaf.decide(late)
    # The view was just read and is not read again: stareMesaj answers the old poll at once.
    [answer], calls = await anaf.follow(
        anaf.follower(silence=10, every=3600),
        [anaf.poll(late, age=dt.timedelta(days=61))],
    )
    assert isinstance(answer, Accepted)
    assert LIST in [call.endpoint for call in calls[0]]  # a new follower reads once …
    assert STATUS in [call.endpoint for call in calls[0]]  # … then asks stareMesaj


async def test_the_lists_daily_quota_reached_in_clearways_count_closes_the_list_for_the_day(
    anaf: Anaf,
) -> None:
    quota = paged_list_quota(anaf.cif)
    await anaf.pool.execute(
        "INSERT INTO rate_counters (key, day, count) VALUES ($1, $2, $3)",
        quota.key,
        quota_day(quota, utcnow()),
        quota.limit,
    )
    upload_id = await anaf.upload()
    anaf.decide(upload_id)
    await _listed_soon()

    [outcome], calls = await anaf.follow(anaf.follower(silence=3600), [anaf.poll(upload_id)])
    assert isinstance(outcome, Accepted)
    # No list call past the quota: stareMesaj answered, young as the upload is.
    assert [call.endpoint for call in calls[0]] == [STATUS, DOWNLOAD]
    assert LIST not in anaf.calls()


async def test_the_status_share_of_the_lists_used_up_leaves_the_rest_to_the_inbox(
    anaf: Anaf,
) -> None:
    share, quota = status_list_share(anaf.cif), paged_list_quota(anaf.cif)
    day = quota_day(share, utcnow())
    await anaf.pool.execute(
        "INSERT INTO rate_counters (key, day, count) VALUES ($1, $2, $3)",
        share.key,
        day,
        share.limit - 1,
    )
    first, second = await anaf.upload(), await anaf.upload()
    anaf.decide(first)
    await _listed_soon()
    follower = anaf.follower(every=0.01, silence=3600)

    [listed], _ = await anaf.follow(follower, [anaf.poll(first)])
    assert isinstance(listed, Accepted)
    assert anaf.calls()[LIST] == 1  # the share's last call
    anaf.decide(second)
    await asyncio.sleep(0.02)  # the view is older than `every` (a quick machine got here sooner)
    [outcome], calls = await anaf.follow(follower, [anaf.poll(second)])
    assert isinstance(outcome, Accepted)
    # The share is spent: stareMesaj answered, however young the upload.
    assert [call.endpoint for call in calls[0]] == [STATUS, DOWNLOAD]
    assert anaf.calls()[LIST] == 1
    # Both counts took the one list call; the CIF's quota keeps the rest for the inbox.
    counts = dict(
        await anaf.pool.fetch(
            "SELECT key, count FROM rate_counters WHERE key = ANY($1) AND day = $2",
            [share.key, quota.key],
            day,
        )
    )
    assert counts == {share.key: share.limit, quota.key: 1}


async def test_anafs_own_quota_refusal_closes_the_list_and_stare_mesaj_answers(
    anaf: Anaf, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "PAGED_LISTS_PER_CIF_PER_DAY", 0)  # ANAF counts ahead of us
    first, second = await anaf.upload(), await anaf.upload()
    anaf.decide(first, second)
    await _listed_soon()
    follower = anaf.follower(every=0.01, silence=3600)

    [outcome], calls = await anaf.follow(follower, [anaf.poll(first)])
    assert isinstance(outcome, Accepted)
    assert [call.endpoint for call in calls[0]] == [LIST, STATUS, DOWNLOAD]
    await asyncio.sleep(0.02)  # past `every`: the list would be due, were it not closed for the day
    [outcome], calls = await anaf.follow(follower, [anaf.poll(second)])
    assert isinstance(outcome, Accepted)
    assert [call.endpoint for call in calls[0]] == [STATUS, DOWNLOAD]
