"""What the tests of every government's Inbox share: reading an inbox as the receiving machine
does, the ids of what it handed over, a first look's one delivery and the look after it, and an
inbox whose connection is no longer active."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from clearway.governments.inbox import Delivery, Inbox, InboxClosedError, InboxPage

if TYPE_CHECKING:
    from collections.abc import Callable

    import asyncpg

    from tests.services.govsim.simtools import FakeClock


async def read_all(inbox: Inbox, cursor: str | None) -> tuple[list[InboxPage], str | None]:
    """Look until the inbox says nothing more waits now, as the machine does."""
    pages: list[InboxPage] = []
    while True:
        page = await inbox.fetch(cursor)
        pages.append(page)
        cursor = page.cursor or cursor
        if not page.more:
            return pages, cursor


def ids(deliveries: list[Delivery] | tuple[Delivery, ...]) -> list[str]:
    return [delivery.government_id for delivery in deliveries]


def received(pages: list[InboxPage]) -> list[str]:
    """The ids handed over by these pages, in order."""
    return [delivery.government_id for page in pages for delivery in page.deliveries]


async def first_look(inbox: Inbox) -> tuple[Delivery, InboxPage]:
    """A first look that hands over exactly one delivery: it, and the page."""
    page = await inbox.fetch(None)
    (delivery,) = page.deliveries
    return delivery, page


async def assert_nothing_comes_again(
    inbox: Callable[[], Inbox], clock: FakeClock, page: InboxPage, *, later: float
) -> None:
    """`page` says nothing more waits, and a look `later` seconds on from its cursor (by a new
    inbox object, as a restarted receiver would make) hands over nothing again."""
    assert page.more is False
    assert page.cursor is not None

    clock.advance(later)
    again = await inbox().fetch(page.cursor)
    assert again.deliveries == ()


async def assert_closed_once_inactive(
    store_db: asyncpg.Pool[Any], connection_id: str, inbox: Inbox
) -> None:
    """Once the connection has expired, a look closes the inbox."""
    await store_db.execute("UPDATE connections SET status = 'expired' WHERE id = $1", connection_id)

    with pytest.raises(InboxClosedError):
        await inbox.fetch(None)
