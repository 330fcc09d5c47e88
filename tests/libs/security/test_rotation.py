"""Rotating the master key against a real database: every data key is re-wrapped under the new
key, the secrets themselves are untouched, and everything still opens, during and after."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from clearway.accounts import create_account, create_active_connection, create_company
from clearway.accounts.connection_secrets import read_secret, rewrap_all_secrets, store_secrets
from clearway.db import connect
from clearway.domain.company import CompanyRequest
from clearway.domain.connections import SecretKind
from clearway.domain.ids import utcnow
from clearway.security import Keyring, KeyringError, UnknownMasterKeyError, generate_master_key
from clearway.security.keyfile import load_or_create_key_file

from services.stack.infra import Database
from tests.services.connections_support import throwaway_database

pytestmark = [pytest.mark.postgres]

OLD, NEW, NEWER = (generate_master_key(name) for name in ("old", "new", "newer"))


async def _connections(conn: Any, keyring: Keyring, count: int) -> dict[str, dict[str, str]]:
    """Connections with sealed tokens; what each should open to."""
    account_id = await create_account(conn, "rotation")
    expected: dict[str, dict[str, str]] = {}
    for n in range(count):
        company = CompanyRequest(legal_name=f"R{n} SRL", vat_number=f"RO{n}", country="RO")
        company_id = await create_company(conn, account_id, company)
        connection_id = await create_active_connection(
            conn,
            account_id,
            company_id,
            "RO",
            access_token=f"access-{n}",
            refresh_token=f"refresh-{n}",
            expires_at=utcnow() + dt.timedelta(days=90),
            keyring=keyring,
        )
        expected[connection_id] = {"access_token": f"access-{n}", "refresh_token": f"refresh-{n}"}
    return expected


async def _opens(conn: Any, keyring: Keyring, expected: dict[str, dict[str, str]]) -> bool:
    for connection_id, values in expected.items():
        for kind, value in values.items():
            if await read_secret(conn, connection_id, SecretKind(kind), keyring=keyring) != value:
                return False
    return True


async def _rows(conn: Any) -> dict[tuple[str, str], asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM connection_secrets")
    return {(r["connection_id"], r["kind"]): r for r in rows}


async def test_rotation_rewraps_every_data_key_and_everything_still_opens(
    tmp_path: Path,
) -> None:
    async with throwaway_database(tmp_path) as database:
        conn = await connect(database.url)
        try:
            expected = await _connections(conn, Keyring([OLD]), 5)
            before = await _rows(conn)
            rolling = Keyring([NEW, OLD])  # step 1: the new key first, the old one kept
            assert await _opens(conn, rolling, expected)  # readers of either config work

            report = await rewrap_all_secrets(conn, rolling, batch_size=3)
            assert report.rewrapped == 10
            assert report.remaining == {}
            after = await _rows(conn)
            for key, row in after.items():
                assert row["master_key_id"] == "new"
                assert row["ciphertext"] == before[key]["ciphertext"]  # the secret untouched
                assert row["wrapped_key"] != before[key]["wrapped_key"]
            assert await _opens(conn, Keyring([NEW]), expected)  # step 3: the old key can go
            with pytest.raises(UnknownMasterKeyError):
                await _opens(conn, Keyring([OLD]), expected)

            # A writer still on the old configuration seals under the old key; a second pass
            # picks that up, and a pass with nothing left to do changes nothing.
            first = next(iter(expected))
            await store_secrets(
                conn, first, {SecretKind.ACCESS_TOKEN: "late"}, keyring=Keyring([OLD])
            )
            expected[first][SecretKind.ACCESS_TOKEN.value] = "late"
            assert (await rewrap_all_secrets(conn, rolling)).rewrapped == 1
            assert (await rewrap_all_secrets(conn, rolling)).rewrapped == 0
            assert await _opens(conn, Keyring([NEW]), expected)
        finally:
            await conn.close()


def _admin(database: Database, *args: str, keys: str | None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database.url}
    env.pop("CLEARWAY_MASTER_KEYS", None)
    if keys is not None:
        env["CLEARWAY_MASTER_KEYS"] = keys
    return subprocess.run(
        [sys.executable, "-m", "clearway.cli", "admin", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_the_admin_commands(tmp_path: Path) -> None:
    made = _admin(Database("", "", ""), "new-master-key", keys=None)
    assert made.returncode == 0, made.stderr
    assert Keyring.parse(made.stdout).current.key_id.startswith("mk-")

    async with throwaway_database(tmp_path) as database:
        conn = await connect(database.url)
        try:
            expected = await _connections(conn, Keyring([OLD]), 2)
        finally:
            await conn.close()

        # The old key missing from the configuration: nothing can be re-wrapped; said so.
        refused = _admin(database, "rotate-master-key", keys=NEWER.encoded())
        assert refused.returncode == 1
        assert "master key old is not configured" in refused.stdout

        keys = f"{NEWER.encoded()},{OLD.encoded()}"
        rotated = _admin(database, "rotate-master-key", keys=keys)
        assert rotated.returncode == 0, rotated.stderr + rotated.stdout
        assert rotated.stdout.strip() == (
            "Re-wrapped 4 connection and 0 webhook data keys under master key newer."
        )
        for secret in ("access-0", "refresh-1", OLD.encoded().split("=", 1)[1]):
            assert secret not in rotated.stdout + rotated.stderr
        conn = await connect(database.url)
        try:
            assert await _opens(conn, Keyring([NEWER]), expected)
        finally:
            await conn.close()


def test_the_sandbox_key_file_is_made_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "state" / "master-keys"
    first = load_or_create_key_file(path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_key_file(path) == first
    assert len(Keyring.parse(first).key_ids) == 1
    path.write_text("broken")
    with pytest.raises(KeyringError):
        load_or_create_key_file(path)
