"""A stack that fails to start leaves no database behind: one it created is dropped; one that
was there before (`make run`'s everyday database) is kept. The tests' PostgreSQL server is the
API-only stack's (api_stack): the start under test brings its own broker and simulator."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from clearway.security.envelope import KeyringError

from services.stack.infra import free_port
from services.stack.stack import Stack, StackConfig, start_stack

pytestmark = [pytest.mark.postgres, pytest.mark.kafka]


async def _on_server(stack: Stack, statement: str, *args: Any) -> Any:
    """`statement`'s first value, run on the stack's PostgreSQL server."""
    server = await asyncpg.connect(stack.database.server_url)
    try:
        return await server.fetchval(statement, *args)
    finally:
        await server.close()


async def _exists(stack: Stack, name: str) -> bool:
    return bool(await _on_server(stack, "SELECT 1 FROM pg_database WHERE datname = $1", name))


async def _failing_start(tmp_path: Path, name: str) -> None:
    # Malformed master keys: the start fails after the engines, migrations and simulator.
    config = StackConfig(
        state_dir=tmp_path, database_name=name, api_port=free_port(), master_keys="not-a-key"
    )
    with pytest.raises(KeyringError):
        await start_stack(config)


async def test_a_failed_start_drops_the_database_it_created(
    api_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", api_stack.database.server_url)  # the tests' server
    name = f"clearway_failed_{secrets.token_hex(4)}"
    await _failing_start(tmp_path, name)
    assert not await _exists(api_stack, name)


async def test_a_failed_start_keeps_a_database_that_was_there(
    api_stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", api_stack.database.server_url)
    name = f"clearway_kept_{secrets.token_hex(4)}"
    await _on_server(api_stack, f'CREATE DATABASE "{name}"')
    try:
        await _failing_start(tmp_path, name)
        assert await _exists(api_stack, name)
    finally:
        await _on_server(api_stack, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
