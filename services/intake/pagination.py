"""Keyset pagination as every listing of the API pages: newest first on (createdAt, id), the
position handed out as an opaque cursor, one row more read than the page to know whether more
follow; and the `metadata[key]=value` filter the invoice listings share."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated, Any, Protocol, TypeVar

from fastapi import Query, Request

from services.intake.errors import ApiError

if TYPE_CHECKING:
    from clearway.accounts import ApiKeyOwner
    from clearway.db import Connection

Cursor = Annotated[str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_-]+$")]
Limit = Annotated[int, Query(ge=1, le=100)]
Filters_contra = TypeVar("Filters_contra", contravariant=True)


class Listing(Protocol[Filters_contra]):
    """A store's listing of an account's rows of one mode, newest first, after `before`."""

    async def __call__(  # noqa: PLR0913 - the listing's parts
        self,
        conn: Connection,
        account_id: str,
        *,
        livemode: bool,
        filters: Filters_contra,
        before: tuple[dt.datetime, str] | None,
        limit: int,
    ) -> list[Any]: ...


def encode_cursor(row: Any) -> str:
    position = {"c": row["created_at"].isoformat(), "i": row["id"]}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[dt.datetime, str] | None:
    """The position a cursor we gave out names (None without one); 400 for any other text."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded))
        return dt.datetime.fromisoformat(position["c"]), str(position["i"])
    except (ValueError, KeyError, TypeError):
        raise ApiError(
            "validation_error", "This cursor is not one we gave out.", param="/cursor"
        ) from None


def page_of(rows: Sequence[Any], limit: int) -> tuple[list[Any], bool, str | None]:
    """From `limit + 1` rows read: the page's rows, whether more follow, and the next cursor."""
    page = list(rows[:limit])
    has_more = len(rows) > limit
    return page, has_more, encode_cursor(page[-1]) if has_more else None


async def owners_page(  # noqa: PLR0913 - the listing, whose, which, from where, how many
    conn: Connection,
    listing: Listing[Filters_contra],
    owner: ApiKeyOwner,
    filters: Filters_contra,
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Any], bool, str | None]:
    """One page of the owner's rows of its key's mode only (as Stripe keeps them) from
    `cursor`: the page's rows, whether more follow, and the next cursor."""
    rows = await listing(
        conn,
        owner.account_id,
        livemode=owner.livemode,
        filters=filters,
        before=decode_cursor(cursor),
        limit=limit + 1,
    )
    return page_of(rows, limit)


def metadata_filter(request: Request) -> dict[str, str]:
    """The `metadata[key]=value` query parameters (OpenAPI: one deepObject `metadata`): every
    pair a listed row's metadata must hold."""
    wanted: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name.startswith("metadata[") and name.endswith("]") and len(name) > len("metadata[]"):
            wanted[name[len("metadata[") : -1]] = value
    return wanted
