"""Accounts, API keys, companies and connections: the records an invoice is filed under.

API keys are shown once and stored as their SHA-256: a database leak reveals no usable key.
"""

from __future__ import annotations

import hashlib
import secrets

from clearway.accounts.connections import (
    ActiveConnection,
    active_connection,
    connection_token,
    create_active_connection,
)
from clearway.db import Connection
from clearway.store import accounts as store
from clearway.store.accounts import (
    ApiKeyOwner,
    KeyMode,
    create_account,
    create_company,
    revoke_api_key,
)

__all__ = [
    "ActiveConnection",
    "AmbiguousCompanyError",
    "ApiKeyOwner",
    "KeyMode",
    "active_connection",
    "connection_token",
    "create_account",
    "create_active_connection",
    "create_api_key",
    "create_company",
    "hash_api_key",
    "key_id_of",
    "match_company",
    "normalize_vat",
    "owner_of_api_key",
    "revoke_api_key",
]


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# A hosted sandbox account's monthly quota, as the seed's free tier (50 invoices a month).
SANDBOX_MONTHLY_INVOICE_LIMIT = 50


async def create_api_key(conn: Connection, account_id: str, mode: KeyMode) -> str:
    """Returns the plaintext key; only its hash is kept."""
    key = f"sk_{mode}_{secrets.token_urlsafe(24)}"
    await store.insert_api_key(conn, account_id, hash_api_key(key), mode)
    return key


async def owner_of_api_key(conn: Connection, key: str) -> ApiKeyOwner | None:
    return await store.owner_of_key_hash(conn, hash_api_key(key))


class AmbiguousCompanyError(Exception):
    """Several of the account's companies could be the supplier: the caller must say which."""


def normalize_vat(vat_number: str) -> str:
    return "".join(vat_number.split()).upper()


async def match_company(
    conn: Connection, account_id: str, country: str, supplier_vat: str
) -> str | None:
    """The account's company for this supplier: same VAT number, else the country's only one."""
    rows = await store.account_companies(conn, account_id, country=country)
    wanted = normalize_vat(supplier_vat)
    by_vat = [str(r["id"]) for r in rows if normalize_vat(r["vat_number"]) == wanted]
    candidates = by_vat or [str(r["id"]) for r in rows]
    if len(candidates) > 1:
        raise AmbiguousCompanyError(
            f"{len(candidates)} companies could be the supplier {supplier_vat} in {country}"
        )
    return candidates[0] if candidates else None


async def key_id_of(conn: Connection, key: str) -> str | None:
    return await store.key_id_of_hash(conn, hash_api_key(key))
