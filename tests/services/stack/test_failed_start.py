"""A stack that fails to start leaves no database behind: one it created is dropped; one that
was there before (`make run`'s everyday database) is kept."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from clearway.security.envelope import KeyringError

from services.stack.infra import free_port
from services.stack.stack import Stack, StackConfig, start_stack

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.kafka]


async def _exists(db: asyncpg.Pool[Any], name: str) -> bool:
    return bool(await db.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name))


async def _failing_start(tmp_path: Path, name: str) -> None:
    # Malformed master keys: the start fails after the engines, migrations and simulator.
    config = StackConfig(
        state_dir=tmp_path, database_name=name, api_port=free_port(), master_keys="not-a-key"
    )
    with pytest.raises(KeyringError):
        await start_stack(config)


async def test_a_failed_start_drops_the_database_it_created(
    stack: Stack, db: asyncpg.Pool[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database.server_url)  # the tests' server
    name = f"clearway_failed_{secrets.token_hex(4)}"
    await _failing_start(tmp_path, name)
    assert not await _exists(db, name)


async def test_a_failed_start_keeps_a_database_that_was_there(
    stack: Stack, db: asyncpg.Pool[Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", stack.database.server_url)
    name = f"clearway_kept_{secrets.token_hex(4)}"
    await db.execute(f'CREATE DATABASE "{name}"')
    try:
        await _failing_start(tmp_path, name)
        assert await _exists(db, name)
    finally:
        await db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
