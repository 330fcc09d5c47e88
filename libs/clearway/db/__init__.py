"""PostgreSQL access: the pool every service opens, and the schema migrations."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import asyncpg

MIGRATIONS_TABLE = "schema_migrations"


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    # jsonb in and out as Python objects, so no call site encodes JSON by hand.
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def connect(database_url: str) -> asyncpg.Connection[Any]:
    """One connection with the same codecs as the pool's (for scripts and the stack)."""
    conn = await asyncpg.connect(database_url)
    await _init_connection(conn)
    return conn


async def create_pool(
    database_url: str, *, min_size: int = 2, max_size: int = 10
) -> asyncpg.Pool[Any]:
    pool = await asyncpg.create_pool(
        database_url, min_size=min_size, max_size=max_size, init=_init_connection
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


async def migrate(database_url: str) -> list[str]:
    """Apply the migrations not yet applied, each in its own transaction; returns their names.

    An advisory lock makes concurrent starters wait instead of racing.
    """
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("SELECT pg_advisory_lock(7318)")
        await conn.execute(
            f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} "
            "(name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["name"] for r in await conn.fetch(f"SELECT name FROM {MIGRATIONS_TABLE}")}  # noqa: S608
        applied: list[str] = []
        for name, sql in migration_files():
            if name in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name) VALUES ($1)", name)  # noqa: S608
            applied.append(name)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock(7318)")
        await conn.close()
