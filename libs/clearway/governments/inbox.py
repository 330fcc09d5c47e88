"""What a government's receiving side hands Clearway: the purchase invoices addressed to a
connected company, each as the network delivered it, and where the next look starts.

A pulled inbox (ANAF's message list, KSeF's query by NIP, a French PA's incoming flow) is read
through `Inbox.fetch` from a durable per-connection cursor; a pushed one (SDI to the recipient's
channel, a Peppol access point) arrives as the same `Delivery` at Clearway's receiving endpoint.
Either way the government's own id is the key: the same message seen twice is one received
invoice.

What cannot be taken out of a delivery (a broken ZIP, a download the government refuses) is
still handed over, never dropped and never in the way of the messages after it: a `Delivery`
with the bytes as they came (its media type says what they are) and a `finding` saying what is
wrong, for the machine to record as received with that finding.

`Inbox.fetch` raises, besides what a government client raises (GovernmentTransientError: try
again later, after its `retry_after` if it gives one; GovernmentRefusedError: the government
refused the look in its own words, e.g. the user lost the rights on the company: look again
later, and show the message):
- InboxHeldBackError: a call limit or a daily quota (Clearway's count or the government's own
  answer) holds the next look back until `at`;
- InboxClosedError: the connection cannot read its inbox (not active, its token refused and not
  renewed): nothing more until it is connected again.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from clearway.domain.ids import utcnow

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable, Mapping

    from clearway.connectors.calls import GovernmentTransientError

log = logging.getLogger(__name__)

C = TypeVar("C")
R = TypeVar("R")
E = TypeVar("E", bound=Exception)


@dataclass(frozen=True)
class Delivery:
    """One purchase invoice as the network delivered it, byte for byte."""

    government_id: str  # the network's own id of the message or delivery: the dedup key
    document: bytes  # the original legal document (XML, or a Factur-X PDF)
    media_type: str  # "application/xml" or "application/pdf"; with a finding, what came
    evidence: bytes | None = None  # the government's signature, receipt or metadata file
    evidence_media_type: str | None = None
    delivered_at: dt.datetime | None = None  # when the government says it was made available
    # Why the document could not be taken out of what the network delivered; `document` then
    # holds the delivered bytes as they came (a broken ZIP: "application/zip").
    finding: str | None = None


def refused_delivery(
    government_id: str,
    words: Mapping[str, str],
    finding: str,
    *,
    delivered_at: dt.datetime | None,
    evidence: bytes | None = None,
) -> Delivery:
    """A message the government lists but will not give: handed over with its words (`words`,
    as JSON in place of the document) and a finding, so it is neither lost nor asked for
    forever. `evidence`, when given, is the government's JSON record of the message."""
    return Delivery(
        government_id=government_id,
        document=json.dumps(words, ensure_ascii=False).encode(),
        media_type="application/json",
        evidence=evidence,
        evidence_media_type=None if evidence is None else "application/json",
        delivered_at=delivered_at,
        finding=finding,
    )


class InboxHeldBackError(Exception):
    """The government's limits allow no call before `at` (a call limit, a daily quota)."""

    def __init__(self, at: dt.datetime, reason: str) -> None:
        super().__init__(reason)
        self.at = at
        self.reason = reason


def held_back_by(unavailable: GovernmentTransientError) -> InboxHeldBackError | None:
    """A government's 429 with its Retry-After holds the next look back until then; None for
    other unavailability, which stays transient."""
    if unavailable.retry_after is None:
        return None
    at = utcnow() + dt.timedelta(seconds=unavailable.retry_after)
    return InboxHeldBackError(at, str(unavailable))


def load_cursor(
    text: str | None,
    parse: Callable[[Any], C],
    start_over: Callable[[], C],
    unreadable: Callable[[Exception], None],
) -> C:
    """An inbox's saved cursor (JSON) read by `parse`; None starts over, and so does one this
    code cannot read, after `unreadable` says why. Starting over adds no invoice twice: the
    machine keys them by the government's id."""
    if text is None:
        return start_over()
    try:
        return parse(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        unreadable(exc)
        return start_over()


def dump_cursor(fields: Mapping[str, Any]) -> str:
    """An inbox's cursor as saved: compact JSON of version 1, keys sorted."""
    return json.dumps({"v": 1, **fields}, separators=(",", ":"), sort_keys=True)


class InboxClosedError(Exception):
    """The connection cannot read its inbox until it is connected again."""


async def look_renewing_once(  # noqa: PLR0913 - the look, and how to renew, spot and end
    government: str,
    token: str | None,
    look: Callable[[str], Awaitable[InboxPage]],
    *,
    refused: type[E],
    renew: Callable[[str], Awaitable[str | None]],
    expire: Callable[[E], Awaitable[InboxClosedError]],
) -> InboxPage:
    """A look with the connection's `token`, renewed once when the government refuses it
    (`refused`); refused again, `expire` ends the connection and says why. No token (the
    connection is not active) or none renewed closes the inbox."""
    if token is None:
        raise InboxClosedError(f"the company's {government} connection is not active")
    try:
        return await look(token)
    except refused:
        fresh = await renew(token)
    if fresh is None:
        raise InboxClosedError(f"{government} refused the connection's token; it was not renewed")
    try:
        return await look(fresh)
    except refused as again:
        raise await expire(again) from again


@dataclass(frozen=True)
class HandedOver(Generic[R]):
    """What one pass over listed rows delivered: the deliveries, the rows they came from, and
    whether every row was (False: the pass stopped midway, on a limit or an unavailable
    government)."""

    deliveries: tuple[Delivery, ...]
    rows: tuple[R, ...]
    complete: bool


async def hand_over(
    rows: Iterable[R],
    deliver: Callable[[R], Awaitable[Delivery]],
    *,
    stops: tuple[type[Exception], ...],
    inbox: str,
) -> HandedOver[R]:
    """Each row's delivery, in order. One of `stops` (a limit, the government unavailable)
    raises when nothing was delivered yet; after that, what was delivered is handed over, so
    the next look goes on from there instead of downloading it again."""
    deliveries: list[Delivery] = []
    handed: list[R] = []
    for row in rows:
        try:
            deliveries.append(await deliver(row))
        except stops as exc:
            if not deliveries:
                raise
            log.info("%s read in part: %s", inbox, exc)
            return HandedOver(tuple(deliveries), tuple(handed), complete=False)
        handed.append(row)
    return HandedOver(tuple(deliveries), tuple(handed), complete=True)


@dataclass(frozen=True)
class InboxPage:
    """What one look at an inbox found, and where the next look starts."""

    deliveries: tuple[Delivery, ...]
    cursor: str | None  # opaque to the machine, kept per connection; None: unchanged
    more: bool = False  # there is more waiting now: look again at once


class Inbox(Protocol):
    """A company's inbox at one government, read from `cursor` (None: from the beginning of what
    the government keeps)."""

    async def fetch(self, cursor: str | None) -> InboxPage: ...
