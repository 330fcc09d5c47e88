"""PostgreSQL access: the pool every service opens, and the schema migrations.

Nothing here relies on session state, so every service works behind PgBouncer in transaction
mode: locks are transaction-scoped (`pg_advisory_xact_lock`), nothing is `SET` for a session,
and behind such a pooler `statement_cache_size=0` turns asyncpg's named prepared statements off
(see docs/operations.md).
"""

from __future__ import annotations

import json
from importlib import resources
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg

MIGRATIONS_TABLE = "schema_migrations"
MIGRATIONS_LOCK = 7318
# asyncpg's own default: prepared statements are cached per connection.
DEFAULT_STATEMENT_CACHE_SIZE = 100

if TYPE_CHECKING:
    # What every store function takes: a connection of its own or one lent by a pool.
    Connection: TypeAlias = asyncpg.Connection[Any] | asyncpg.pool.PoolConnectionProxy[Any]
else:  # asyncpg's classes are generic only in its type stubs
    Connection = Any


class DatabaseUnavailableError(Exception):
    """PostgreSQL could not be reached or refused a connection: the request may be retried."""


# What asyncpg raises when the server is there but takes no more work: connection failures
# (class 08), "too many clients"/"too many connections for role" (class 53), and a server
# starting up or shutting down (57P01-57P03).
UNAVAILABLE_ERRORS: tuple[type[Exception], ...] = (
    DatabaseUnavailableError,
    asyncpg.PostgresConnectionError,
    asyncpg.InsufficientResourcesError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)


def unavailable_reason(exc: BaseException) -> str | None:
    """Why the database is unavailable, when `exc` (or its cause) says it is; else None."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UNAVAILABLE_ERRORS):
            return str(seen) or type(seen).__name__
        seen = seen.__cause__
    return None


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # jsonb in and out as Python objects, so no call site encodes JSON by hand.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection[Any]) -> None:
    """What a connection goes back to the pool with: asyncpg's own reset sends CLOSE ALL,
    UNLISTEN *, pg_advisory_unlock_all() and RESET ALL at every release (half the statements an
    invoice costs PostgreSQL, make bench found). Nothing here keeps session state (see above),
    and before this hook asyncpg still rolls back a transaction left open and forgets the
    listener callbacks, so there is nothing else to undo."""


async def _connect_or_unavailable(*args: Any, **kwargs: Any) -> asyncpg.Connection[Any]:
    """asyncpg.connect, with a server that cannot be reached reported as unavailable (a socket
    error alone would not say it was the database)."""
    try:
        conn: asyncpg.Connection[Any] = await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise DatabaseUnavailableError(f"PostgreSQL cannot be reached: {exc}") from exc
    return conn


async def connect(database_url: str) -> asyncpg.Connection[Any]:
    """One connection with the same codecs as the pool's (for scripts and the stack)."""
    conn = await asyncpg.connect(database_url)
    await _init_connection(conn)
    return conn


async def create_pool(  # noqa: PLR0913 - the pool settings, each its own
    database_url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    idle_seconds: float = 60.0,
    statement_cache_size: int = DEFAULT_STATEMENT_CACHE_SIZE,
    application_name: str | None = None,
) -> asyncpg.Pool[Any]:
    """A pool of `min_size` connections growing to `max_size`; one above the minimum closes
    after `idle_seconds` unused. `statement_cache_size=0` behind a transaction-mode pooler.
    `application_name` (the service) names its connections in pg_stat_activity."""
    pool = await asyncpg.create_pool(
        database_url,
        server_settings={"application_name": application_name} if application_name else None,
        min_size=min_size,
        max_size=max_size,
        max_inactive_connection_lifetime=idle_seconds,
        init=_init_connection,
        reset=_keep_session,
        connect=_connect_or_unavailable,
        statement_cache_size=statement_cache_size,
    )
    if pool is None:  # pragma: no cover - asyncpg returns None only when not awaited
        raise RuntimeError("asyncpg did not create a pool")
    return pool


def migration_files() -> list[tuple[str, str]]:
    """(name, SQL) of every packaged migration, in order."""
    folder = resources.files("clearway.db") / "migrations"
    return sorted(
        (entry.name, entry.read_text(encoding="utf-8"))
        for entry in folder.iterdir()
        if entry.name.endswith(".sql")
    )


async def migrate(database_url: str, *, statement_cache_size: int = 0) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names.

    Each transaction takes a transaction-scoped advisory lock and then looks at what is
    applied, so concurrent starters wait instead of racing, and no lock outlives its
    transaction (as a session lock would behind a transaction-mode pooler).
    """
    conn = await asyncpg.connect(database_url, statement_cache_size=statement_cache_size)
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK)
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
                "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
        applied: list[str] = []
        for name, sql in migration_files():
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATIONS_LOCK)
                if await conn.fetchval(
                    f"SELECT 1 FROM {MIGRATIONS_TABLE} WHERE name = $1",  # noqa: S608
                    name,
                ):
                    continue
                await conn.execute(sql)
                await conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ($1)", name)  # noqa: S608
            applied.append(name)
        return applied
    finally:
        await conn.close()
