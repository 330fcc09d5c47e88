"""The `rate_buckets` and `rate_counters` tables: token buckets and daily counters shared by
every replica (clearway.resilience.ratelimit decides with them).

Each change is one atomic statement: concurrent callers on the same key serialise on its row
lock (INSERT … ON CONFLICT DO UPDATE re-reads the latest row). Time is the database's
(statement_timestamp()), the one clock every replica shares.
"""

from __future__ import annotations

import datetime as dt

from clearway.db import Connection


async def take_from_bucket(
    conn: Connection, key: str, *, capacity: float, per_second: float
) -> bool:
    """Take one token from the bucket (made full at its first use); False (nothing taken) when
    it holds less than one."""
    granted = await conn.fetchval(
        """
        INSERT INTO rate_buckets AS b (key, tokens, refilled_at)
        VALUES ($1, $2 - 1, statement_timestamp())
        ON CONFLICT (key) DO UPDATE SET
            tokens = LEAST($2, b.tokens
                + EXTRACT(EPOCH FROM statement_timestamp() - b.refilled_at) * $3) - 1,
            refilled_at = statement_timestamp()
        WHERE LEAST($2, b.tokens
                + EXTRACT(EPOCH FROM statement_timestamp() - b.refilled_at) * $3) >= 1
        RETURNING true
        """,
        key,
        capacity,
        per_second,
    )
    return bool(granted)


async def tokens_in_bucket(
    conn: Connection, key: str, *, capacity: float, per_second: float
) -> float:
    """How many tokens the bucket holds now (0 for one never used)."""
    available = await conn.fetchval(
        "SELECT LEAST($2, tokens + EXTRACT(EPOCH FROM statement_timestamp() - refilled_at) * $3) "
        "FROM rate_buckets WHERE key = $1",
        key,
        capacity,
        per_second,
    )
    return float(available if available is not None else 0)


async def count_if_below(conn: Connection, key: str, day: dt.date, limit: int) -> bool:
    """Add one to the day's counter unless it reached `limit`; True when counted."""
    counted = await conn.fetchval(
        "INSERT INTO rate_counters AS c (key, day, count) VALUES ($1, $2, 1) "
        "ON CONFLICT (key, day) DO UPDATE SET count = c.count + 1 WHERE c.count < $3 "
        "RETURNING count",
        key,
        day,
        limit,
    )
    return counted is not None


async def counted(conn: Connection, key: str, day: dt.date) -> int:
    used = await conn.fetchval(
        "SELECT count FROM rate_counters WHERE key = $1 AND day = $2", key, day
    )
    return int(used or 0)


async def delete_counters_before(conn: Connection, day: dt.date) -> None:
    await conn.execute("DELETE FROM rate_counters WHERE day < $1", day)
