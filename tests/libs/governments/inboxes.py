"""What the tests of every government's Inbox share: reading an inbox as the receiving machine
does, and the ids of what it handed over."""

from __future__ import annotations

from clearway.governments.inbox import Delivery, Inbox, InboxPage


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
