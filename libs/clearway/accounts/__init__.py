"""Accounts, API keys, companies and connections: the records an invoice is filed under.

API keys are shown once and stored as their SHA-256: a database leak reveals no usable key.
"""

from __future__ import annotations

import hashlib
import secrets
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from clearway.accounts.connections import (
    ActiveConnection,
    active_connection,
    connection_token,
    create_active_connection,
)
from clearway.domain.company import CompanyRequest
from clearway.domain.ids import new_id
from clearway.eventstore import Connection

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

KeyMode = Literal["test", "live"]


class ApiKeyOwner(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    key_id: str
    livemode: bool
    monthly_invoice_limit: int | None
    rate_limit_per_second: Decimal | None


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# A hosted sandbox account's monthly quota, as the seed's free tier (50 invoices a month).
SANDBOX_MONTHLY_INVOICE_LIMIT = 50


async def create_account(
    conn: Connection,
    name: str,
    *,
    monthly_invoice_limit: int | None = None,
    rate_limit_per_second: Decimal | None = None,
) -> str:
    account_id = new_id("acct")
    await conn.execute(
        "INSERT INTO accounts (id, name, monthly_invoice_limit, rate_limit_per_second) "
        "VALUES ($1, $2, $3, $4)",
        account_id,
        name,
        monthly_invoice_limit,
        rate_limit_per_second,
    )
    return account_id


async def create_api_key(conn: Connection, account_id: str, mode: KeyMode) -> str:
    """Returns the plaintext key; only its hash is kept."""
    key = f"sk_{mode}_{secrets.token_urlsafe(24)}"
    await conn.execute(
        "INSERT INTO api_keys (id, account_id, key_hash, mode) VALUES ($1, $2, $3, $4)",
        new_id("key"),
        account_id,
        hash_api_key(key),
        mode,
    )
    return key


async def owner_of_api_key(conn: Connection, key: str) -> ApiKeyOwner | None:
    row = await conn.fetchrow(
        "SELECT k.id, k.account_id, k.mode, a.monthly_invoice_limit, a.rate_limit_per_second "
        "FROM api_keys k JOIN accounts a ON a.id = k.account_id "
        "WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        hash_api_key(key),
    )
    if row is None:
        return None
    return ApiKeyOwner(
        account_id=row["account_id"],
        key_id=row["id"],
        livemode=row["mode"] == "live",
        monthly_invoice_limit=row["monthly_invoice_limit"],
        rate_limit_per_second=row["rate_limit_per_second"],
    )


async def revoke_api_key(conn: Connection, key_id: str) -> bool:
    result: str = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return result == "UPDATE 1"


async def create_company(conn: Connection, account_id: str, company: CompanyRequest) -> str:
    company_id = new_id("comp")
    await conn.execute(
        "INSERT INTO companies (id, account_id, legal_name, vat_number, country, trade_register, "
        "address, peppol_id, sdi_code, siret, leitweg_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        company_id,
        account_id,
        company.legalName,
        company.vatNumber,
        company.country,
        company.tradeRegister,
        company.address.model_dump(mode="json") if company.address else None,
        company.peppolId,
        company.sdiCode,
        company.siret,
        company.leitwegId,
    )
    return company_id


class AmbiguousCompanyError(Exception):
    """Several of the account's companies could be the supplier: the caller must say which."""


def normalize_vat(vat_number: str) -> str:
    return "".join(vat_number.split()).upper()


async def match_company(
    conn: Connection, account_id: str, country: str, supplier_vat: str
) -> str | None:
    """The account's company for this supplier: same VAT number, else the country's only one."""
    rows = await conn.fetch(
        "SELECT id, vat_number FROM companies "
        "WHERE account_id = $1 AND country = $2 AND deleted_at IS NULL",
        account_id,
        country,
    )
    wanted = normalize_vat(supplier_vat)
    by_vat = [str(r["id"]) for r in rows if normalize_vat(r["vat_number"]) == wanted]
    candidates = by_vat or [str(r["id"]) for r in rows]
    if len(candidates) > 1:
        raise AmbiguousCompanyError(
            f"{len(candidates)} companies could be the supplier {supplier_vat} in {country}"
        )
    return candidates[0] if candidates else None


async def key_id_of(conn: Connection, key: str) -> str | None:
    key_id: str | None = await conn.fetchval(
        "SELECT id FROM api_keys WHERE key_hash = $1", hash_api_key(key)
    )
    return key_id
