"""`inbox_cursors`: the receiver's durable schedule, a row per receiving connection with where
its next look at the government's inbox starts. The only module that writes it; the receiving
machine (clearway.pipeline.receiving) decides what to write.

A row is made when its connection (active, a receiver) is first due. A claimed row is leased to
one receiver (`lease_owner`): a receiver that dies mid-look leaves it to be claimed again once
the lease ends, and one that outlived its lease finds its owner id gone and writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clearway.db import Connection


@dataclass(frozen=True)
class InboxClaim:
    """One claimed row: the connection whose inbox is looked at, and from where."""

    connection_id: str
    cursor: str | None
    failures: int  # looks that failed in a row before this one
    owner: str  # the lease's owner id: what every write of this look is fenced by


async def claim_due(
    conn: Connection,
    *,
    countries: Sequence[str],
    owner: str,
    lease: dt.timedelta,
    limit: int,
) -> list[InboxClaim]:
    """Lease to `owner` up to `limit` due rows of active receiving connections of `countries`
    that no other receiver holds, first making the rows of those not scheduled yet."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO inbox_cursors (connection_id) "
            "SELECT id FROM connections WHERE status = 'active' AND is_receiver "
            "AND country = ANY($1::text[]) ON CONFLICT (connection_id) DO NOTHING",
            list(countries),
        )
        rows = await conn.fetch(
            "UPDATE inbox_cursors c SET lease_owner = $2, lease_until = now() + $3::interval "
            "FROM (SELECT i.connection_id FROM inbox_cursors i "
            "JOIN connections k ON k.id = i.connection_id "
            "WHERE k.status = 'active' AND k.is_receiver AND k.country = ANY($4::text[]) "
            "AND i.next_fetch_at <= now() AND (i.lease_until IS NULL OR i.lease_until <= now()) "
            "ORDER BY i.next_fetch_at LIMIT $1 FOR UPDATE OF i SKIP LOCKED) due "
            "WHERE c.connection_id = due.connection_id "
            "RETURNING c.connection_id, c.cursor, c.failures",
            limit,
            owner,
            lease,
            list(countries),
        )
    return [
        InboxClaim(
            connection_id=row["connection_id"],
            cursor=row["cursor"],
            failures=row["failures"],
            owner=owner,
        )
        for row in rows
    ]


async def advance(
    conn: Connection,
    claim: InboxClaim,
    *,
    cursor: str | None,
    next_fetch_at: dt.datetime,
) -> bool:
    """A look's page recorded: the new cursor (None keeps the old), the next look, the lease
    released. False, writing nothing, when the lease is no longer the claim's: the caller rolls
    its transaction back, so the page's deliveries and its cursor stay together."""
    updated = await conn.fetchval(
        "UPDATE inbox_cursors SET cursor = COALESCE($3, cursor), next_fetch_at = $4, "
        "lease_owner = NULL, lease_until = NULL, failures = 0, last_error = NULL, "
        "updated_at = now() WHERE connection_id = $1 AND lease_owner = $2 RETURNING 1",
        claim.connection_id,
        claim.owner,
        cursor,
        next_fetch_at,
    )
    return updated is not None


async def later(
    conn: Connection,
    claim: InboxClaim,
    *,
    next_fetch_at: dt.datetime,
    error: str | None = None,
) -> None:
    """Look again at `next_fetch_at`, the lease released (if still the claim's); with `error`,
    the look failed: counted, and its reason kept."""
    await conn.execute(
        "UPDATE inbox_cursors SET next_fetch_at = $3, lease_owner = NULL, lease_until = NULL, "
        "failures = CASE WHEN $4::text IS NULL THEN failures ELSE failures + 1 END, "
        "last_error = COALESCE($4, last_error), updated_at = now() "
        "WHERE connection_id = $1 AND lease_owner = $2",
        claim.connection_id,
        claim.owner,
        next_fetch_at,
        error,
    )


async def cursor_row(conn: Connection, connection_id: str) -> Any:
    """The connection's row (None before it was first due)."""
    return await conn.fetchrow(
        "SELECT * FROM inbox_cursors WHERE connection_id = $1", connection_id
    )
