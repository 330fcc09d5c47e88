"""The pool every service opens, against real PostgreSQL: its size comes from the settings (one
idle connection by default, not ten), and through PgBouncer in transaction mode it works with
the statement cache off, which is why that is a setting (the default cache breaks there)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator

import asyncpg
import pydantic
import pytest
import pytest_asyncio
from clearway.config import Settings
from clearway.db import create_pool, migrate, migration_files

from services.stack.infra import Database, provision_database
from tests.pgbouncer import PgBouncer, start_pgbouncer

pytestmark = [pytest.mark.postgres]


@pytest_asyncio.fixture(scope="module")
async def database(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Database]:
    database = await provision_database(
        f"clearway_pools_{secrets.token_hex(4)}", tmp_path_factory.mktemp("pools")
    )
    try:
        yield database
    finally:
        await database.drop()
        database.stop_embedded()


@pytest_asyncio.fixture(scope="module")
async def bouncer(database: Database) -> AsyncIterator[PgBouncer]:
    running = await start_pgbouncer(database.server_url, pool_size=2)
    try:
        yield running
    finally:
        running.stop()


def _settings(**environment: str) -> Settings:
    return Settings.model_validate(
        {"database_url": "postgresql://unused", "kafka_bootstrap": "unused", **environment}
    )


async def _connections(database: Database) -> int:
    conn = await asyncpg.connect(database.server_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database.name,
        )
        return count
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("environment", "options"),
    [
        ({}, {"min_size": 1, "max_size": 10, "idle_seconds": 60.0, "statement_cache_size": 100}),
        (
            {
                "DATABASE_POOL_MIN": "0",
                "DATABASE_POOL_MAX": "3",
                "DATABASE_POOL_IDLE_SECONDS": "5",
                "DATABASE_STATEMENT_CACHE_SIZE": "0",
            },
            {"min_size": 0, "max_size": 3, "idle_seconds": 5.0, "statement_cache_size": 0},
        ),
    ],
)
def test_pool_sizes_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], options: dict[str, object]
) -> None:
    required = {"DATABASE_URL": "postgresql://x", "KAFKA_BOOTSTRAP": "x:9092"}
    for name, value in (required | environment).items():
        monkeypatch.setenv(name, value)
    assert Settings.from_env().pool_options() == options


def test_a_minimum_above_the_maximum_is_refused_naming_both() -> None:
    with pytest.raises(pydantic.ValidationError, match=r"DATABASE_POOL_MIN .* DATABASE_POOL_MAX"):
        _settings(database_pool_min="5", database_pool_max="2")


async def test_an_idle_pool_comes_back_to_its_minimum(database: Database) -> None:
    pool = await create_pool(
        database.url, **_settings(database_pool_idle_seconds="1").pool_options()
    )
    try:
        assert await _connections(database) == 1  # one connection while idle, not ten
        await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.1)") for _ in range(4)))
        assert await _connections(database) == 4  # grows to what the load needs
        deadline = asyncio.get_running_loop().time() + 10
        while await _connections(database) > 1:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # past another idle period: the floor stays open
        assert await _connections(database) == 1
    finally:
        await pool.close()


async def test_behind_pgbouncer_in_transaction_mode_with_the_statement_cache_off(
    database: Database, bouncer: PgBouncer
) -> None:
    url = bouncer.url_for(database.url)
    # Two starters at once through the pooler: the migrations' lock is transaction-scoped,
    # so each migration is applied once, by one of them, and no lock is left held.
    applied = await asyncio.gather(migrate(url), migrate(url))
    assert sorted(applied[0] + applied[1]) == [name for name, _ in migration_files()]
    assert await migrate(url) == []

    options = _settings(database_statement_cache_size="0").pool_options()
    pool = await create_pool(url, **{**options, "max_size": 6})
    try:

        async def transaction(n: int) -> int:
            async with pool.acquire() as conn, conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(hashtext('pooled'))")
                value: int = await conn.fetchval("SELECT $1::int + 1", n)
                assert await conn.fetchval("SELECT '{\"a\": 1}'::jsonb") == {"a": 1}
                return value

        assert await asyncio.gather(*(transaction(n) for n in range(40))) == [
            n + 1 for n in range(40)
        ]
    finally:
        await pool.close()


async def test_behind_pgbouncer_the_default_statement_cache_breaks(
    database: Database, bouncer: PgBouncer
) -> None:
    """Why DATABASE_STATEMENT_CACHE_SIZE=0 is documented for a transaction-mode pooler: named
    prepared statements meet server connections that never prepared them."""
    options = {**_settings().pool_options(), "max_size": 6}
    pool = await create_pool(bouncer.url_for(database.url), **options)
    try:
        answers = await asyncio.gather(
            *(pool.fetchval("SELECT $1::int + 1", n) for n in range(40)), return_exceptions=True
        )
    finally:
        await pool.close()
    assert any(isinstance(a, asyncpg.PostgresError) for a in answers)


async def test_a_release_sends_nothing_but_still_ends_an_open_transaction(
    database: Database,
) -> None:
    """asyncpg's default reset would run four statements at every release; nothing keeps session
    state here, so a release runs none: the backend's last statement is still the caller's. A
    transaction left open is still rolled back."""
    pool = await create_pool(database.url, min_size=1, max_size=1)
    observer = await asyncpg.connect(database.server_url)
    try:
        async with pool.acquire() as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid() /* released-clean */")
        last = await observer.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", pid)
        assert last == "SELECT pg_backend_pid() /* released-clean */"

        async with pool.acquire() as conn:
            await conn.execute("BEGIN")
            await conn.execute("CREATE TEMP TABLE left_open (n int)")
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT pg_backend_pid()") == pid  # the same connection
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await observer.close()
        await pool.close()
