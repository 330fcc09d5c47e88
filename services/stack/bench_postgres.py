"""What PostgreSQL does for the bench's invoices: the bench's own connection (which counts its
queries), pg_stat_database's counters, and each statement's calls from pg_stat_statements, which
the bench has its embedded server load."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from services.stack.bench_report import progress
from services.stack.infra import provision_database

# Marks the bench's own queries, so the statement counts leave them out.
OWN_QUERY = "/* bench */ "
PG_DATABASE_COUNTERS = (
    "xact_commit",
    "xact_rollback",
    "tup_returned",
    "tup_fetched",
    "tup_inserted",
    "tup_updated",
    "tup_deleted",
)


@dataclass
class BenchDb:
    """The bench's own connection to the stack's database; counts its queries, since
    pg_stat_database counts them with the services' transactions."""

    pool: asyncpg.Pool[Any]
    queries: int = 0
    statements_source: str = "pg_stat_database"

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        self.queries += 1
        return await self.pool.fetch(OWN_QUERY + sql, *args)


async def load_pg_stat_statements(state_dir: Path, database_name: str) -> None:
    """Have an embedded server of the bench's own load pg_stat_statements from its next start
    (ALTER SYSTEM keeps it in its data directory). A server the bench found running is not
    the bench's to configure: there the counts come from pg_stat_database."""
    database = await provision_database(database_name, state_dir)
    try:
        if database.embedded is None:
            return
        conn = await asyncpg.connect(database.server_url)
        try:
            loaded = await conn.fetchval("SHOW shared_preload_libraries")
            if "pg_stat_statements" not in loaded:
                await conn.execute(
                    "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
                )
        finally:
            await conn.close()
    finally:
        if database.created:
            await database.drop()
        database.stop_embedded()


async def use_pg_stat_statements(db: BenchDb) -> None:
    """Count statements with pg_stat_statements when the server has it loaded."""
    try:
        await db.fetch("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await db.fetch("SELECT 1 FROM pg_stat_statements LIMIT 1")
    except asyncpg.PostgresError as error:
        progress(f"pg_stat_statements unavailable ({error}); pg_stat_database counters only")
        return
    db.statements_source = "pg_stat_statements"


async def pg_counters(db: BenchDb) -> dict[str, Any]:
    """The database's counters now: pg_stat_database's (as the backends have flushed them, up
    to a second or more late), the bench's own query count, and with pg_stat_statements the
    calls of each statement the services ran (the bench's own left out)."""
    row = (
        await db.fetch(
            f"SELECT {', '.join(PG_DATABASE_COUNTERS)} FROM pg_stat_database "  # noqa: S608 - our column names
            "WHERE datname = current_database()"
        )
    )[0]
    counters: dict[str, Any] = {name: row[name] for name in PG_DATABASE_COUNTERS}
    if db.statements_source == "pg_stat_statements":
        rows = await db.fetch(
            "SELECT queryid, min(query) AS query, sum(calls)::bigint AS calls "
            "FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
            "WHERE datname = current_database()) AND query NOT LIKE $1 GROUP BY queryid",
            f"%{OWN_QUERY.strip()}%",
        )
        counters["statements"] = {r["queryid"]: (r["query"], r["calls"]) for r in rows}
    counters["bench_queries"] = db.queries
    return counters


def pg_per_invoice(
    before: dict[str, Any], after: dict[str, Any], invoices: int, source: str
) -> dict[str, Any]:
    """What PostgreSQL did per invoice between two counts."""
    # Every bench query outside a transaction block is one commit of its own.
    own = after["bench_queries"] - before["bench_queries"]
    database = {
        name: round(
            (after[name] - before[name] - (own if name == "xact_commit" else 0)) / invoices, 2
        )
        for name in PG_DATABASE_COUNTERS
    }
    figures: dict[str, Any] = {"source": source, "pg_stat_database_per_invoice": database}
    if "statements" in after:
        spent = {
            queryid: (query, calls - before["statements"].get(queryid, ("", 0))[1])
            for queryid, (query, calls) in after["statements"].items()
        }
        total = sum(calls for _, calls in spent.values())
        top = sorted(spent.values(), key=lambda item: -item[1])[:10]
        figures["statements_per_invoice"] = round(total / invoices, 2)
        figures["top_statements_per_invoice"] = [
            {"calls": round(calls / invoices, 2), "query": " ".join(query.split())[:120]}
            for query, calls in top
            if calls
        ]
    return figures
