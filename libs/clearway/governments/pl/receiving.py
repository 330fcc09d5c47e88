"""KSeF's receiving side: a company's purchase invoices, read from KSeF's repository by its NIP.

KSeF keeps every invoice it accepted; the buyer (Podmiot2) finds them with the metadata query
(POST /invoices/query/metadata, subjectType Subject2) and downloads each by its KSeF number
(GET /invoices/ksef/{ksefNumber}), with the access token of the same session flow as sending
(auth.py, tokens.py). KSeF gives the buyer no UPO (that is the seller's receipt of its session):
the evidence handed over is the invoice's metadata record, as KSeF listed it.

The query follows KSeF's incremental scenario: dateType PermanentStorage, sortOrder Asc,
restrictToPermanentStorageHwmDate. KSeF answers permanentStorageHwmDate, below which nothing is
ever added, so a range ending there lists the same invoices in the same order on every page,
now and later. The cursor (InboxCursor) is that window and where in it, as compact JSON:
`{"v":1,"from":"<ISO>","to":"<ISO>"|null,"page":<pageOffset>,"seen":{"<ksefNumber>":"<ISO>"}}`.
A window opens at `from` (to null: up to KSeF's high water mark, or MAX_WINDOW on when catching
up, as KSeF takes ranges of at most 3 months) and its `to` is fixed by KSeF's first answer; its
pages are read in order; once its last page is read the next window starts at its `to` (windows
touch: an invoice stamped exactly there may be listed twice). When KSeF truncates a window
(10 000 records a filter set) it goes on from the last record's date at page 0, as KSeF says.
Nothing is handed over twice: `seen` keeps the KSeF numbers of the page last read and of those
stamped at or after the next start, and a listed number already seen is not downloaded again.
A page whose downloads stop midway (a limit, KSeF unavailable, an invoice not downloadable yet)
hands over what it downloaded, with a cursor that keeps those numbers and reads the same page
again. The first look reaches LOOKBACK back.

Every call goes out within KSeF's limits per NIP (client.metadata_bucket: 20 queries an hour;
client.download_bucket: 64 downloads an hour, shared by every replica); a limit reached, or
KSeF's own 429 with its Retry-After, raises InboxHeldBackError with when to look again. A
download whose bytes do not match the record's invoiceHash, or that KSeF refuses for good, is
handed over with a finding, and the invoices after it go on.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from zoneinfo import ZoneInfo

from clearway.accounts import connection_token
from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.governments.base import RenewalTools
from clearway.governments.inbox import (
    Delivery,
    InboxClosedError,
    InboxHeldBackError,
    InboxPage,
    dump_cursor,
    hand_over,
    held_back_by,
    load_cursor,
    look_renewing_once,
    refused_delivery,
)
from clearway.governments.pl import auth as ksef_auth
from clearway.governments.pl.client import (
    KsefAuthError,
    KsefInvoicesClient,
    KsefRefusedError,
    KsefTransientError,
    KsefUnavailableError,
    download_bucket,
    metadata_bucket,
)
from clearway.governments.pl.settings import KsefEndpoint
from clearway.governments.pl.tokens import expire_after_second_refusal, renew_refused_token
from clearway.resilience.ratelimit import TokenBucket, take_token

log = logging.getLogger(__name__)

WARSAW = ZoneInfo("Europe/Warsaw")

SUBJECT_BUYER = "Subject2"  # Podmiot 2: the invoices where the company is the buyer
PAGE_SIZE = 100  # KSeF takes 10-250; downloads (64 an hour) are what paces a page anyway
MAX_WINDOW = dt.timedelta(days=88)  # KSeF takes a range of at most 3 months (89 days at least)
LOOKBACK = MAX_WINDOW  # the first look: one range back (KSeF keeps invoices for 10 years)
NOT_YET_AVAILABLE = "21165"  # listed, but not downloadable yet: later
RANGE_BEYOND_DATA = "21183"  # the start lies past KSeF's high water mark: nothing new yet
NOT_YET_RETRY = 60.0  # seconds


# --- the cursor (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Listed:
    """One row of the metadata query: the invoice's KSeF number, when KSeF stored it for good,
    and the record as KSeF gave it."""

    ksef_number: str
    stored_at: dt.datetime
    record: Mapping[str, Any]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Listed:
        return cls(str(record["ksefNumber"]), _instant(record["permanentStorageDate"]), record)


@dataclass(frozen=True)
class InboxCursor:
    """Where the next look at the inbox starts: the window [start, end] of permanentStorage
    dates (end None: not asked yet), its next pageOffset, and the KSeF numbers already handed
    over that this page or the next window may list again, with their permanentStorageDate."""

    start: dt.datetime
    end: dt.datetime | None = None
    page: int = 0
    seen: Mapping[str, dt.datetime] = field(default_factory=dict)

    @classmethod
    def first(cls, now: dt.datetime) -> InboxCursor:
        return cls(start=now - LOOKBACK)

    @classmethod
    def load(cls, text: str | None, now: dt.datetime) -> InboxCursor:
        """The saved cursor; None (or one this code cannot read) starts LOOKBACK back."""
        return load_cursor(
            text,
            lambda raw: cls(
                start=_instant(raw["from"]),
                end=None if raw.get("to") is None else _instant(raw["to"]),
                page=int(raw.get("page", 0)),
                seen={str(key): _instant(value) for key, value in dict(raw["seen"]).items()},
            ),
            lambda: cls.first(now),
            lambda exc: log.warning(
                "unreadable KSeF inbox cursor (%s): starting %s back", exc, LOOKBACK
            ),
        )

    def dump(self) -> str:
        return dump_cursor(
            {
                "from": self.start.isoformat(),
                "to": None if self.end is None else self.end.isoformat(),
                "page": self.page,
                "seen": {key: value.isoformat() for key, value in self.seen.items()},
            }
        )

    def end_to_ask(self, now: dt.datetime) -> dt.datetime | None:
        """The range's end to send: the window's own once fixed; MAX_WINDOW on when the start
        is further back than KSeF takes at once; else none (up to the high water mark)."""
        if self.end is not None:
            return self.end
        if now - self.start > MAX_WINDOW:
            return self.start + MAX_WINDOW
        return None

    def with_seen(self, end: dt.datetime, rows: list[Listed]) -> InboxCursor:
        """The same page of the window ending at `end`, with these rows handed over."""
        return replace(self, end=end, seen={**self.seen, **_stamps(rows)})

    def after_page(
        self, end: dt.datetime, rows: list[Listed], *, has_more: bool, truncated: bool
    ) -> InboxCursor:
        """Past a page fully read (`rows`: all of it) of the window ending at `end`."""
        if has_more and not truncated:
            return InboxCursor(self.start, end, self.page + 1, _stamps(rows))
        # The next range starts at the last record's date (truncated) or at the window's end;
        # what is stamped from there on may be listed again.
        start = max((row.stored_at for row in rows), default=self.start) if has_more else end
        seen = {
            key: stamp for key, stamp in {**self.seen, **_stamps(rows)}.items() if stamp >= start
        }
        return InboxCursor(start, end if has_more else None, 0, seen)


def _stamps(rows: list[Listed]) -> dict[str, dt.datetime]:
    return {row.ksef_number: row.stored_at for row in rows}


def _instant(value: Any) -> dt.datetime:
    """KSeF's ISO 8601 date-time (up to 7 decimals: Python keeps 6, rounding down, so a range
    never starts after what it stamped); no offset is Warsaw time, as KSeF reads it."""
    moment = dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=WARSAW)
    return moment


# --- what a download hands over (pure) ------------------------------------------------------


def evidence_of(row: Listed) -> bytes:
    """The metadata record KSeF listed the invoice with, as JSON."""
    return json.dumps(row.record, ensure_ascii=False, separators=(",", ":")).encode()


def delivery_of(row: Listed, content: bytes) -> Delivery:
    """The invoice as KSeF gave it, with its metadata record; a finding when its bytes are not
    the ones KSeF's record hashed."""
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    finding = None
    if digest != row.record.get("invoiceHash"):
        finding = (
            f"KSeF invoice {row.ksef_number}: the download's SHA-256 ({digest}) is not the "
            f"invoiceHash KSeF listed ({row.record.get('invoiceHash')})"
        )
        log.warning("%s", finding)
    return Delivery(
        government_id=row.ksef_number,
        document=content,
        media_type="application/xml",
        evidence=evidence_of(row),
        evidence_media_type="application/json",
        delivered_at=_acquired(row),
        finding=finding,
    )


def _refused_download(row: Listed, refusal: KsefRefusedError) -> Delivery:
    """An invoice KSeF lists but will not let the company download: handed over with KSeF's
    words, so it is neither lost nor asked for forever."""
    return refused_delivery(
        row.ksef_number,
        {"error": refusal.message},
        f"KSeF invoice {row.ksef_number}: KSeF refused its download ({refusal.message})",
        delivered_at=_acquired(row),
        evidence=evidence_of(row),
    )


def _acquired(row: Listed) -> dt.datetime:
    """When the company received it: "the date of receipt is the date the KSeF number was
    given" (acquisitionDate)."""
    return _instant(row.record.get("acquisitionDate") or row.record["permanentStorageDate"])


# --- the inbox -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Listing:
    rows: list[Listed]
    end: dt.datetime
    has_more: bool
    truncated: bool


class KsefInbox:
    """The purchase invoices of one connected company (its NIP), read with the connection's
    access token (renewed once when KSeF refuses it) at one KSeF endpoint."""

    def __init__(
        self,
        tools: RenewalTools,
        endpoint: KsefEndpoint,
        *,
        connection_id: str,
        nip: str,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._tools = tools
        self._ksef = KsefInvoicesClient(endpoint.api_url, tools.http)
        self._auth = ksef_auth.KsefAuthClient(endpoint.api_url, tools.http)
        self._connection_id = connection_id
        self._nip = nip
        self._clock = clock

    async def fetch(self, cursor: str | None) -> InboxPage:
        now = self._clock()
        window = InboxCursor.load(cursor, now)
        async with self._tools.pool.acquire() as conn:
            token = await connection_token(conn, self._connection_id, keyring=self._tools.keyring)
            return await look_renewing_once(
                "KSeF",
                token,
                lambda token: self._look(conn, window, token, now),
                refused=KsefAuthError,
                renew=lambda token: self._renew(conn, token),
                expire=lambda again: self._expire(conn, again),
            )

    async def _renew(self, conn: Connection, token: str) -> str | None:
        try:
            return await renew_refused_token(conn, self._connection_id, token, self._auth)
        except ksef_auth.KsefUnavailableError as exc:
            raise KsefUnavailableError(f"KSeF did not renew the token ({exc})") from exc

    async def _expire(self, conn: Connection, again: KsefAuthError) -> InboxClosedError:
        message = f"KSeF refused the renewed token too (HTTP {again.status})."
        await expire_after_second_refusal(conn, self._connection_id, message)
        return InboxClosedError(message)

    async def _look(
        self, conn: Connection, window: InboxCursor, token: str, now: dt.datetime
    ) -> InboxPage:
        listing = await self._list(conn, window, token, now)
        if listing is None:
            return InboxPage(deliveries=(), cursor=None)
        handed = await hand_over(
            (row for row in listing.rows if row.ksef_number not in window.seen),
            lambda row: self._delivery(conn, row, token),
            stops=(KsefAuthError, KsefTransientError, InboxHeldBackError),
            inbox=f"KSeF inbox of {self._nip}",
        )
        if not handed.complete:
            part = window.with_seen(listing.end, list(handed.rows))
            return InboxPage(handed.deliveries, part.dump())
        after = window.after_page(
            listing.end, listing.rows, has_more=listing.has_more, truncated=listing.truncated
        )
        # Only pages left in the window call for a look at once: KSeF's 20 queries an hour
        # are better spent on them than on a window of a few seconds.
        return InboxPage(handed.deliveries, after.dump(), more=after.end is not None)

    async def _list(
        self, conn: Connection, window: InboxCursor, token: str, now: dt.datetime
    ) -> _Listing | None:
        """The window's page; None when KSeF has stored nothing past its start yet."""
        end = window.end_to_ask(now)
        date_range: dict[str, Any] = {
            "dateType": "PermanentStorage",
            "from": window.start.isoformat(),
            "restrictToPermanentStorageHwmDate": True,
        }
        if end is not None:
            date_range["to"] = end.isoformat()
        await self._may_call(conn, metadata_bucket(self._nip), "KSeF's metadata query limit")
        try:
            body = await self._ksef.query_metadata(
                token,
                {"subjectType": SUBJECT_BUYER, "dateRange": date_range},
                page_offset=window.page,
                page_size=PAGE_SIZE,
            )
        except KsefRefusedError as refused:
            if refused.message.startswith(RANGE_BEYOND_DATA):
                return None
            raise
        except KsefUnavailableError as unavailable:
            raise held_back_by(unavailable) or unavailable from unavailable
        hwm = body.get("permanentStorageHwmDate")
        # KSeF names its high water mark for every PermanentStorage query; were it ever
        # missing, the range asked for (or now) is the window's end.
        fixed = _instant(hwm) if hwm else end or now
        return _Listing(
            rows=[Listed.of(record) for record in body.get("invoices") or ()],
            end=fixed,
            has_more=bool(body.get("hasMore")),
            truncated=bool(body.get("isTruncated")),
        )

    async def _delivery(self, conn: Connection, row: Listed, token: str) -> Delivery:
        await self._may_call(conn, download_bucket(self._nip), "KSeF's invoice download limit")
        try:
            content = await self._ksef.invoice(token, row.ksef_number)
        except KsefRefusedError as refused:
            if refused.message.startswith(NOT_YET_AVAILABLE):
                raise KsefUnavailableError(refused.message, retry_after=NOT_YET_RETRY) from None
            return _refused_download(row, refused)
        except KsefUnavailableError as unavailable:
            raise held_back_by(unavailable) or unavailable from unavailable
        return delivery_of(row, content)

    @staticmethod
    async def _may_call(conn: Connection, bucket: TokenBucket, limit: str) -> None:
        wait = await take_token(conn, bucket)
        if wait:
            raise InboxHeldBackError(utcnow() + dt.timedelta(seconds=wait), limit)
