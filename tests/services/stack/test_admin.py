"""`clearway admin`: the keys it prints work against the API, and a revoked key does not. The
API alone answers for a key (api_stack: no worker service is needed)."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from services.stack.stack import Stack

pytestmark = [pytest.mark.postgres]


def _admin(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "clearway.cli", "admin", *args],
        env={**os.environ, "DATABASE_URL": stack.database.url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _value(output: str, label: str) -> str:
    return next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith(label))


def test_create_account_key_and_revoke(api_stack: Stack) -> None:
    created = _admin(api_stack, "create-account", "--name", "CLI test", "--monthly-limit", "50")
    assert created.returncode == 0, created.stderr
    account_id = _value(created.stdout, "Account")
    sandbox_key = _value(created.stdout, "Sandbox API key")
    assert account_id.startswith("acct_")
    assert sandbox_key.startswith("sk_test_")

    live = _admin(api_stack, "create-key", "--account", account_id, "--mode", "live")
    assert live.returncode == 0, live.stderr
    live_key = _value(live.stdout, "Live API key")
    assert live_key.startswith("sk_live_")

    for key in (sandbox_key, live_key):
        answer = httpx.get(
            f"{api_stack.api_url}/v1/invoices", headers={"Authorization": f"Bearer {key}"}
        )
        assert answer.status_code == 200

    revoked = _admin(api_stack, "revoke-key", sandbox_key)
    assert revoked.returncode == 0, revoked.stderr
    answer = httpx.get(
        f"{api_stack.api_url}/v1/invoices", headers={"Authorization": f"Bearer {sandbox_key}"}
    )
    assert answer.status_code == 401
    assert _admin(api_stack, "revoke-key", sandbox_key).returncode == 1
    assert _admin(api_stack, "create-key", "--account", "acct_missing").returncode == 1
