"""The Plateforme Agréée's receiving side: a company's purchase invoices, read as the incoming
flows of the AFNOR XP Z12-013 Flow Service (governments/fr/client.py).

The platform lists the flows routed to a SIREN (`flowDirection` In, `flowType` SupplierInvoice)
oldest first by `updatedAt`, strictly after `updatedAfter`, `limit` at a time from `offset`. An
incoming flow's `updatedAt` is when it was made available (it moves only with the flow's
acknowledgement, Ok on arrival; the buyer's statuses are lifecycle flows of their own), so a
flow is listed at one place in that order, for good.

The cursor (PaCursor) is where in that order the last handed-over flow stands, as compact JSON:
`{"v":1,"after":"<updatedAt, ISO 8601>"|null,"ids":["<flowId>",…]}`; `ids` are the flows handed
over whose updatedAt is `after` itself. The next look asks from just before `after`, so a flow
sharing that instant but not yet handed over (a page or a look that stopped among equals) is
listed again and taken, and one in `ids` is skipped: nothing is skipped and nothing comes twice.
A page made only of flows already handed over (more equals than a page holds) is passed by
`offset`. `after` null: the first look, from the beginning of what the platform keeps.

Each new flow is downloaded once: its file as delivered (Factur-X PDF, UBL or CII; the machine
reads it) and its metadata with the invoice's lifecycle (the evidence, JSON bytes as the platform
gave them). A flow the platform refuses to give (gone, say) is handed over with the platform's
words and a finding, so the flows after it go on. The platform's 429 is InboxHeldBackError until
its Retry-After; a look stopped midway hands over what it downloaded, with the cursor past it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from clearway.connectors.calls import (
    GovernmentRefusedError,
    GovernmentTransientError,
    GovernmentUnavailableError,
)
from clearway.governments.fr.client import ListedFlow, PaClient
from clearway.governments.inbox import (
    Delivery,
    InboxClosedError,
    InboxHeldBackError,
    InboxPage,
    dump_cursor,
    hand_over,
    held_back_by,
    load_cursor,
    refused_delivery,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 100  # the Flow Service's largest page
# Full pages of flows already handed over that one look passes by offset before it gives up
# (a platform that ignored `offset` would list the same page for ever).
MAX_PAGES_PASSED = 50
# The search is strictly after updatedAfter: asking from this much before `after` lists the
# flows stamped `after` itself again (the platform stamps to the microsecond).
_JUST_BEFORE = dt.timedelta(microseconds=1)


# --- the cursor (pure) ---------------------------------------------------------------------


@dataclass(frozen=True)
class PaCursor:
    """Where the next look starts: `after`, the updatedAt of the last flow handed over (None:
    nothing yet), and `ids`, the flows handed over stamped `after` itself."""

    after: dt.datetime | None = None
    ids: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def load(cls, text: str | None) -> PaCursor:
        """The saved cursor; None (or one this code cannot read) starts from the beginning."""
        return load_cursor(
            text,
            lambda raw: cls(
                after=None
                if (after := raw["after"]) is None
                else _utc(dt.datetime.fromisoformat(str(after))),
                ids=frozenset(str(flow_id) for flow_id in raw.get("ids", ())),
            ),
            cls,
            lambda exc: log.warning(
                "unreadable PA inbox cursor (%s): reading what the PA keeps again", exc
            ),
        )

    def dump(self) -> str:
        after = None if self.after is None else self.after.isoformat()
        return dump_cursor({"after": after, "ids": sorted(self.ids)})

    def search_from(self) -> dt.datetime | None:
        """The search's updatedAfter: just before `after`, so its equals are listed again."""
        return None if self.after is None else self.after - _JUST_BEFORE

    def is_new(self, flow: ListedFlow) -> bool:
        """Not handed over yet: later than `after`, or stamped `after` and not in `ids`."""
        if self.after is None:
            return True
        stamp = _utc(flow.updated_at)
        return stamp > self.after or (stamp == self.after and flow.flow_id not in self.ids)

    def past(self, flow: ListedFlow) -> PaCursor:
        """After handing `flow` over (flows are handed over in the search's order)."""
        stamp = _utc(flow.updated_at)
        if self.after is not None and stamp == self.after:
            return replace(self, ids=self.ids | {flow.flow_id})
        return PaCursor(after=stamp, ids=frozenset({flow.flow_id}))


def _utc(at: dt.datetime) -> dt.datetime:
    return at.astimezone(dt.UTC)


# --- the inbox -----------------------------------------------------------------------------


def _refused_download(flow: ListedFlow, refusal: GovernmentRefusedError) -> Delivery:
    """A flow the platform lists but will not give: handed over with its words, so it is
    neither lost nor asked for forever."""
    return refused_delivery(
        flow.flow_id,
        {"message": refusal.message},
        f"PA flow {flow.flow_id}: the PA refused its download ({refusal.message})",
        delivered_at=flow.updated_at,
    )


class PaInbox:
    """The incoming invoice flows of one connected company (its SIREN) at the Plateforme
    Agréée, read with Clearway's platform account."""

    def __init__(
        self,
        pa: PaClient,
        *,
        siren: str | None,
        active: bool = True,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._pa = pa
        self._siren = siren
        self._active = active
        self._page_size = page_size

    async def fetch(self, cursor: str | None) -> InboxPage:
        if not self._active:
            raise InboxClosedError("the company's connection to the PA is not active")
        if self._siren is None:
            raise InboxClosedError("the company has no SIREN the PA knows it by")
        start = PaCursor.load(cursor)
        listed, full = await self._new_flows(start)
        handed = await hand_over(
            listed,
            self._delivery,
            stops=(GovernmentTransientError, InboxHeldBackError),
            inbox=f"PA inbox of {self._siren}",
        )
        position = start
        for flow in handed.rows:
            position = position.past(flow)
        return InboxPage(handed.deliveries, position.dump(), more=full and handed.complete)

    async def _new_flows(self, cursor: PaCursor) -> tuple[list[ListedFlow], bool]:
        """The flows of the first page holding any not handed over, and whether that page was
        full (more may wait behind it)."""
        assert self._siren is not None  # checked by fetch
        offset = 0
        for _ in range(MAX_PAGES_PASSED + 1):
            page = await self._held_back_if_throttled(
                self._pa.search_incoming(
                    siren=self._siren,
                    updated_after=cursor.search_from(),
                    limit=self._page_size,
                    offset=offset,
                )
            )
            new = [flow for flow in page if cursor.is_new(flow)]
            full = len(page) >= self._page_size
            if new or not full:
                return new, full
            offset += len(page)  # a full page of equals already handed over: look past it
        raise GovernmentTransientError(
            f"the PA listed {offset} flows at {cursor.after} already handed over: "
            "it does not seem to page by offset"
        )

    async def _delivery(self, flow: ListedFlow) -> Delivery:
        try:
            original = await self._held_back_if_throttled(self._pa.flow_original(flow.flow_id))
            metadata = await self._held_back_if_throttled(self._pa.flow_metadata(flow.flow_id))
        except GovernmentRefusedError as refused:
            return _refused_download(flow, refused)
        return Delivery(
            government_id=flow.flow_id,
            document=original.content,
            media_type=original.media_type,
            evidence=metadata,
            evidence_media_type="application/json",
            delivered_at=flow.updated_at,
        )

    @staticmethod
    async def _held_back_if_throttled(call: Awaitable[T]) -> T:
        """The platform's 429 with a Retry-After holds the next look back until then."""
        try:
            return await call
        except GovernmentUnavailableError as unavailable:
            held_back = held_back_by(unavailable)
            if held_back is None:
                raise
            raise held_back from unavailable
