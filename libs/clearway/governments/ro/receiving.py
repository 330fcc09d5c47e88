"""ANAF's receiving side: a company's purchase invoices, read from its SPV message list.

ANAF lists every invoice accepted for a buyer as a `FACTURA PRIMITA` row of the buyer's CIF
(listaMesajePaginatieFactura, `filtru=P`, 500 rows a page, newest first) and keeps it 60 days;
the row's `id` downloads a ZIP (descarcare) holding the invoice as its supplier uploaded it and
ANAF's signature of it (`<id_solicitare>.xml`, `semnatura_<id_solicitare>.xml`).

The cursor (InboxCursor) is the window being read and where in it, as compact JSON:
`{"v":1,"start":<ms>,"end":<ms>|null,"page":<n>,"seen":{"<id>":<data_creare ms>,…}}`. A window
[start, end] (epoch ms, ANAF's startTime/endTime) is fixed when it opens (end a second before
now: ANAF refuses an end in its future) and read page by page; once its last page is read, the
next window starts OVERLAP before its end (`end` null: it opens at the next look), since a row
may be listed a little after the minute it is stamped with. Nothing is skipped: the list is
newest first, so a row listed late in a window pushes the others to later pages, never to
pages already read, and every window overlaps the one before.
Nothing is handed over twice: the cursor keeps the ids of the page last read and of the rows in
the overlap, and a row already kept is not downloaded again. A page whose downloads stop
midway (a limit, ANAF unavailable) hands over what it downloaded, with a cursor that keeps
those ids and reads the same page again. The first look starts LOOKBACK back: what ANAF still
keeps.

Each message is downloaded once and opened with bounded sizes, plain entry names only and no
file written (unpack_download). A download that cannot be opened (BrokenDownloadError), or that
ANAF refuses for good, is handed over as a Delivery with what came and a `finding` naming the
message: it is received with that finding, and the messages after it go on.

Every call goes out within ANAF's limits (client.calls_bucket shared by every replica, the
daily paged-list quota of the CIF, the 10 downloads a message a day, quota.py counting each call
once ANAF answered it); a limit reached raises InboxHeldBackError with when to look again.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

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
from clearway.governments.ro.apis import anaf_apis
from clearway.governments.ro.client import (
    AnafAuthError,
    AnafRefusedError,
    AnafTransientError,
    AnafUnavailableError,
    ListedMessage,
    MessageKind,
    MessagePage,
    download_quota,
    paged_list_quota,
)
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.settings import AnafEndpoint
from clearway.governments.ro.tokens import expire_after_second_refusal, refresh_refused_token
from clearway.resilience.ratelimit import DailyQuota, next_day_starts, take_token

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(days=60) - dt.timedelta(minutes=5)  # ANAF refuses a start older than 60d
OVERLAP = dt.timedelta(minutes=10)  # how late a row may be listed after its data_creare minute
END_LAG = dt.timedelta(seconds=1)  # ANAF refuses an endTime in its future
_MINUTE_MS = 60_000  # data_creare is stamped to the minute: a row may be up to this much later

QUOTA_REACHED = "S-au facut deja"  # how ANAF begins every "daily quota reached" answer
PAGE_BEYOND_LAST = "Pagina solicitata"  # the page asked for is past the last one

# What one descarcare ZIP may hold: ANAF takes uploads of at most 10 MB, its seal is small.
MAX_DOWNLOAD_BYTES = 32 * 1024 * 1024
MAX_ENTRY_BYTES = 16 * 1024 * 1024
MAX_ENTRIES = 8
SEAL_PREFIX = "semnatura_"
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,200}")


# --- the cursor (pure) ---------------------------------------------------------------------


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class InboxCursor:
    """Where the next look at the inbox starts: the window [start_ms, end_ms] (epoch ms, as
    ANAF's startTime/endTime) and its next page; end_ms None: the window opens at the next
    look, ending then. `seen`: the ids already handed over that a later page or window may list
    again, with their data_creare (epoch ms)."""

    start_ms: int
    end_ms: int | None = None
    page: int = 1
    seen: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def first(cls, now: dt.datetime) -> InboxCursor:
        return cls(start_ms=_ms(now - LOOKBACK))

    @classmethod
    def load(cls, text: str | None, now: dt.datetime) -> InboxCursor:
        """The saved cursor; None (or one this code cannot read) starts from what ANAF keeps."""
        return load_cursor(
            text,
            lambda raw: cls(
                start_ms=int(raw["start"]),
                end_ms=None if raw.get("end") is None else int(raw["end"]),
                page=int(raw.get("page", 1)),
                seen={str(key): int(value) for key, value in dict(raw.get("seen", {})).items()},
            ),
            lambda: cls.first(now),
            lambda exc: log.warning(
                "unreadable ANAF inbox cursor (%s): reading what ANAF keeps again", exc
            ),
        )

    def dump(self) -> str:
        return dump_cursor(
            {"start": self.start_ms, "end": self.end_ms, "page": self.page, "seen": dict(self.seen)}
        )

    def opened(self, now: dt.datetime) -> InboxCursor | None:
        """The window to read now: this one, or a new one ending now; None when there is no
        time to look at yet (the last window ended a moment ago). Its start never lies beyond
        ANAF's 60 days (ANAF refuses such a start; what was there is gone): rows leave from the
        oldest end, so the pages already read stay as they were."""
        floor = _ms(now - LOOKBACK)
        if self.end_ms is not None and self.end_ms > floor:
            return replace(self, start_ms=max(self.start_ms, floor))
        start = max(self.start_ms, floor)
        end = _ms(now - END_LAG)
        if end <= start:
            return None
        return replace(self, start_ms=start, end_ms=end, page=1)

    def with_seen(self, rows: list[ListedMessage]) -> InboxCursor:
        """The same page, with these rows handed over (a page read in part)."""
        return replace(self, seen={**self.seen, **_stamps(rows)})

    def after_page(self, rows: list[ListedMessage], pages: int) -> InboxCursor:
        """Past a page fully read (`rows`: all its rows; `pages`: how many the window has)."""
        assert self.end_ms is not None  # a page is read only in an open window
        overlap_from = self.end_ms - _ms_of(OVERLAP)
        keep = {
            key: stamp for key, stamp in self.seen.items() if stamp + _MINUTE_MS >= overlap_from
        }
        seen = {**keep, **_stamps(rows)}
        if self.page < pages:
            return replace(self, page=self.page + 1, seen=seen)
        overlap = {key: stamp for key, stamp in seen.items() if stamp + _MINUTE_MS >= overlap_from}
        return InboxCursor(start_ms=overlap_from, end_ms=None, page=1, seen=overlap)


def _ms_of(span: dt.timedelta) -> int:
    return int(span.total_seconds() * 1000)


def _stamps(rows: list[ListedMessage]) -> dict[str, int]:
    return {row.download_id: _ms(row.created) for row in rows}


# --- the download (pure) -------------------------------------------------------------------


class BrokenDownloadError(Exception):
    """A descarcare answer that does not hold one invoice and its seal as ANAF makes them."""

    def __init__(self, download_id: str, reason: str) -> None:
        super().__init__(f"ANAF message {download_id}: {reason}")
        self.download_id = download_id
        self.reason = reason


def unpack_download(download_id: str, content: bytes) -> tuple[bytes, bytes | None]:
    """(the invoice, ANAF's signature or None) from a descarcare ZIP, read in memory: at most
    MAX_ENTRIES entries of plain names (no folder, no path), each read to at most
    MAX_ENTRY_BYTES whatever its header claims, its CRC checked. Raises BrokenDownloadError."""
    if len(content) > MAX_DOWNLOAD_BYTES:
        raise BrokenDownloadError(
            download_id, f"the download is larger than {MAX_DOWNLOAD_BYTES} bytes"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            files = _entries(download_id, archive)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, OSError) as exc:
        raise BrokenDownloadError(download_id, f"not a readable ZIP ({exc})") from exc
    except (NotImplementedError, RuntimeError) as exc:  # an unknown compression, encryption
        raise BrokenDownloadError(download_id, f"the ZIP cannot be opened ({exc})") from exc
    seals = [name for name in files if name.startswith(SEAL_PREFIX)]
    invoices = [name for name in files if name not in seals and name.endswith(".xml")]
    if len(invoices) != 1:
        raise BrokenDownloadError(
            download_id, f"the ZIP holds {len(invoices)} invoice files, not one"
        )
    return files[invoices[0]], files[seals[0]] if len(seals) == 1 else None


def _entries(download_id: str, archive: zipfile.ZipFile) -> dict[str, bytes]:
    entries = archive.infolist()
    if len(entries) > MAX_ENTRIES:
        raise BrokenDownloadError(download_id, f"the ZIP holds {len(entries)} entries")
    files: dict[str, bytes] = {}
    for entry in entries:
        name = entry.filename
        if not _PLAIN_NAME.fullmatch(name) or ".." in name:
            raise BrokenDownloadError(download_id, f"the ZIP holds an entry named {name[:100]!r}")
        too_large = BrokenDownloadError(download_id, f"{name} exceeds {MAX_ENTRY_BYTES} bytes")
        if entry.file_size > MAX_ENTRY_BYTES:
            raise too_large
        with archive.open(entry) as opened:  # reading to the end checks the CRC
            data = opened.read(MAX_ENTRY_BYTES + 1)
        if len(data) > MAX_ENTRY_BYTES:
            raise too_large
        files[name] = data
    return files


def delivery_of(row: ListedMessage, content: bytes) -> Delivery:
    """What a message's download hands over: its invoice and seal, or, when it cannot be
    opened, the download as it came with the finding."""
    try:
        invoice, seal = unpack_download(row.download_id, content)
    except BrokenDownloadError as broken:
        log.warning("%s", broken)
        return Delivery(
            government_id=row.download_id,
            document=content,
            media_type="application/zip",
            delivered_at=row.created,
            finding=str(broken),
        )
    return Delivery(
        government_id=row.download_id,
        document=invoice,
        media_type="application/xml",
        evidence=seal,
        evidence_media_type="application/xml" if seal is not None else None,
        delivered_at=row.created,
    )


def _refused_download(row: ListedMessage, refusal: AnafRefusedError) -> Delivery:
    """A message ANAF lists but will not let the company download (other than for its daily
    quota): handed over with ANAF's words, so it is neither lost nor asked for forever."""
    return refused_delivery(
        row.download_id,
        {"eroare": refusal.message},
        f"ANAF message {row.download_id}: ANAF refused its download ({refusal.message})",
        delivered_at=row.created,
    )


# --- the inbox -----------------------------------------------------------------------------


class AnafInbox:
    """The `FACTURA PRIMITA` messages of one connected company (its CIF), read with the
    connection's OAuth token (refreshed once when ANAF refuses it) at one ANAF endpoint."""

    def __init__(
        self,
        tools: RenewalTools,
        endpoint: AnafEndpoint,
        *,
        connection_id: str,
        cif: str,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._tools = tools
        self._anaf, self._oauth, self._calls = anaf_apis(endpoint, tools.http, tools.settings)
        self._connection_id = connection_id
        self._cif = cif
        self._clock = clock

    async def fetch(self, cursor: str | None) -> InboxPage:
        now = self._clock()
        window = InboxCursor.load(cursor, now).opened(now)
        if window is None:
            return InboxPage(deliveries=(), cursor=None)
        async with self._tools.pool.acquire() as conn:
            token = await connection_token(conn, self._connection_id, keyring=self._tools.keyring)
            return await look_renewing_once(
                "ANAF",
                token,
                lambda token: self._look(conn, window, token),
                refused=AnafAuthError,
                renew=lambda token: refresh_refused_token(
                    conn, self._connection_id, token, self._oauth
                ),
                expire=lambda again: self._expire(conn, again),
            )

    async def _expire(self, conn: Connection, again: AnafAuthError) -> InboxClosedError:
        await expire_after_second_refusal(conn, self._connection_id, again.status)
        return InboxClosedError("ANAF refused the renewed token too")

    async def _look(self, conn: Connection, window: InboxCursor, token: str) -> InboxPage:
        listing = await self._list(conn, window, token)
        rows = [row for row in listing.messages if row.kind == MessageKind.RECEIVED]
        handed = await hand_over(
            (row for row in rows if row.download_id not in window.seen),
            lambda row: self._delivery(conn, row, token),
            stops=(AnafAuthError, AnafTransientError, InboxHeldBackError),
            inbox=f"ANAF inbox of {self._cif}",
        )
        if not handed.complete:
            return InboxPage(handed.deliveries, window.with_seen(list(handed.rows)).dump())
        after = window.after_page(rows, listing.pages)
        return InboxPage(handed.deliveries, after.dump(), more=after.end_ms is not None)

    async def _list(self, conn: Connection, window: InboxCursor, token: str) -> MessagePage:
        assert window.end_ms is not None  # opened
        quota = paged_list_quota(self._cif)
        await self._may_call(conn, quota)
        try:
            return await counted_if_answered(
                conn,
                quota,
                self._anaf.list_received(
                    cif=self._cif,
                    start=_at(window.start_ms),
                    end=_at(window.end_ms),
                    page=window.page,
                    token=token,
                ),
            )
        except AnafRefusedError as refused:
            if refused.message.startswith(PAGE_BEYOND_LAST):
                # Rows left ANAF's 60 days since the window was counted: no page is left.
                return MessagePage(messages=(), pages=window.page)
            raise self._held_back_if_quota(refused, quota) from refused
        except AnafUnavailableError as unavailable:
            raise held_back_by(unavailable) or unavailable from unavailable

    async def _delivery(self, conn: Connection, row: ListedMessage, token: str) -> Delivery:
        quota = download_quota(row.download_id)
        await self._may_call(conn, quota)
        try:
            content = await counted_if_answered(
                conn, quota, self._anaf.download(row.download_id, token=token)
            )
        except AnafRefusedError as refused:
            if refused.message.startswith(QUOTA_REACHED):
                raise self._held_back_if_quota(refused, quota) from refused
            return _refused_download(row, refused)
        except AnafUnavailableError as unavailable:
            raise held_back_by(unavailable) or unavailable from unavailable
        return delivery_of(row, content)

    async def _may_call(self, conn: Connection, quota: DailyQuota) -> None:
        wait = await take_token(conn, self._calls)
        if wait:
            raise InboxHeldBackError(utcnow() + dt.timedelta(seconds=wait), "ANAF's call limit")
        resets_at = await quota_resets_at(conn, quota)
        if resets_at is not None:
            raise InboxHeldBackError(resets_at, f"ANAF's daily quota ({quota.key})")

    @staticmethod
    def _held_back_if_quota(refused: AnafRefusedError, quota: DailyQuota) -> Exception:
        """ANAF's own "quota reached" (its count, ahead of Clearway's): until its next day."""
        if refused.message.startswith(QUOTA_REACHED):
            return InboxHeldBackError(next_day_starts(quota, utcnow()), refused.message)
        return refused


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
