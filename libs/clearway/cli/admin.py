"""`clearway admin …`: accounts and API keys, for operators (keys are shown once, stored hashed),
and the master keys that seal connection secrets.

Works on $DATABASE_URL (`python -m services.stack admin …` finds the database `make run` uses).

Rotating the master key, without downtime:
1. `clearway admin new-master-key` prints a new `id=base64`; put it first in
   CLEARWAY_MASTER_KEYS, keep the old one after it, and roll the services out (they open
   secrets under either key and seal new ones under the first).
2. `clearway admin rotate-master-key` re-wraps every data key under the new key.
3. Remove the old key from CLEARWAY_MASTER_KEYS and roll out again.
"""

from __future__ import annotations

import argparse
from decimal import Decimal

from clearway.accounts import create_account, create_api_key, key_id_of, revoke_api_key
from clearway.accounts.connection_secrets import rewrap_all_secrets
from clearway.config import SecuritySettings
from clearway.db import Connection, connect, migrate
from clearway.security import (
    MASTER_KEYS_ENV,
    Keyring,
    UnknownMasterKeyError,
    generate_master_key,
    keyring_from_setting,
)
from clearway.store.accounts import account_exists
from clearway.store.webhook_endpoints import rewrap_secrets as rewrap_webhook_secrets


def add_admin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    admin = sub.add_parser("admin", help="accounts and API keys").add_subparsers(
        dest="admin_command", required=True
    )
    account = admin.add_parser("create-account", help="a new account and its first test key")
    account.add_argument("--name", required=True)
    account.add_argument("--monthly-limit", type=int, default=None, help="invoices a month")
    account.add_argument("--rate-limit", type=Decimal, default=None, help="requests a second")
    key = admin.add_parser("create-key", help="a new API key for an account")
    key.add_argument("--account", required=True)
    key.add_argument("--mode", choices=("test", "live"), default="test")
    revoke = admin.add_parser("revoke-key", help="revoke a key (by its id key_… or the key)")
    revoke.add_argument("key")
    admin.add_parser("new-master-key", help="print a fresh master key (id=base64) to configure")
    admin.add_parser(
        "rotate-master-key",
        help=f"re-wrap every data key under the first key of {MASTER_KEYS_ENV}",
    )


async def run_admin(args: argparse.Namespace, database_url: str) -> int:
    if args.admin_command == "new-master-key":
        print(generate_master_key().encoded())
        return 0
    await migrate(database_url)
    conn = await connect(database_url)
    try:
        return await _admin(conn, args)
    finally:
        await conn.close()


def _configured_keyring() -> Keyring:
    # raises when CLEARWAY_MASTER_KEYS is unset, saying what to set
    return keyring_from_setting(SecuritySettings.from_env().master_keys)


async def _rotate_master_key(conn: Connection) -> int:
    keyring = _configured_keyring()
    try:
        report = await rewrap_all_secrets(conn, keyring)
    except UnknownMasterKeyError as exc:
        print(f"Stopped: {exc}. Configure it after the new key, then run this again.")
        return 1
    # Webhook signing secrets are sealed under the same master keys.
    webhook_secrets = await rewrap_webhook_secrets(conn, keyring)
    current = keyring.current.key_id
    print(
        f"Re-wrapped {report.rewrapped} connection and {webhook_secrets} webhook data keys "
        f"under master key {current}."
    )
    for key_id, count in sorted(report.remaining.items()):
        print(
            f"{count} data keys are still under {key_id}: written by a service that does not "
            f"have {current} first yet; run this again once every service has it."
        )
    return 1 if report.remaining else 0


async def _admin(conn: Connection, args: argparse.Namespace) -> int:
    if args.admin_command == "rotate-master-key":
        return await _rotate_master_key(conn)
    if args.admin_command == "create-account":
        account_id = await create_account(
            conn,
            args.name,
            monthly_invoice_limit=args.monthly_limit,
            rate_limit_per_second=args.rate_limit,
        )
        print(f"Account: {account_id}")
        print(f"Sandbox API key: {await create_api_key(conn, account_id, 'test')}")
        return 0
    if args.admin_command == "create-key":
        if not await account_exists(conn, args.account):
            print(f"No account {args.account}.")
            return 1
        label = "Live" if args.mode == "live" else "Sandbox"
        print(f"{label} API key: {await create_api_key(conn, args.account, args.mode)}")
        return 0
    key_id = args.key if args.key.startswith("key_") else await key_id_of(conn, args.key)
    if key_id is None or not await revoke_api_key(conn, key_id):
        print("No such active key.")
        return 1
    print(f"Revoked {key_id}.")
    return 0
