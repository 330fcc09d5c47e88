"""The `accounts`, `api_keys` and `companies` tables: who files, with which keys, for whom.

API keys are stored as their SHA-256 only (clearway.accounts makes and hashes them)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection
from clearway.domain.company import CompanyRequest
from clearway.domain.ids import new_id
from clearway.store.rows import one_row, owned

KeyMode = Literal["test", "live"]


class ApiKeyOwner(BaseModel):
    model_config = ConfigDict(frozen=True)

    account_id: str
    key_id: str
    livemode: bool
    monthly_invoice_limit: int | None
    rate_limit_per_second: Decimal | None


# --- accounts -------------------------------------------------------------------------------


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


async def account_exists(conn: Connection, account_id: str) -> bool:
    return bool(await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account_id))


async def first_account_named(conn: Connection, name: str) -> str | None:
    account_id: str | None = await conn.fetchval(
        "SELECT id FROM accounts WHERE name = $1 ORDER BY created_at LIMIT 1", name
    )
    return account_id


# --- API keys -------------------------------------------------------------------------------


async def insert_api_key(conn: Connection, account_id: str, key_hash: str, mode: KeyMode) -> str:
    """Record a key by its hash; returns the key's id."""
    key_id = new_id("key")
    await conn.execute(
        "INSERT INTO api_keys (id, account_id, key_hash, mode) VALUES ($1, $2, $3, $4)",
        key_id,
        account_id,
        key_hash,
        mode,
    )
    return key_id


async def owner_of_key_hash(conn: Connection, key_hash: str) -> ApiKeyOwner | None:
    """Whose unrevoked key this is, with the account's limits."""
    row = await conn.fetchrow(
        "SELECT k.id, k.account_id, k.mode, a.monthly_invoice_limit, a.rate_limit_per_second "
        "FROM api_keys k JOIN accounts a ON a.id = k.account_id "
        "WHERE k.key_hash = $1 AND k.revoked_at IS NULL",
        key_hash,
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


async def key_id_of_hash(conn: Connection, key_hash: str) -> str | None:
    key_id: str | None = await conn.fetchval(
        "SELECT id FROM api_keys WHERE key_hash = $1", key_hash
    )
    return key_id


async def revoke_api_key(conn: Connection, key_id: str) -> bool:
    """True when the key was live and is revoked now."""
    result: str = await conn.execute(
        "UPDATE api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL", key_id
    )
    return result == "UPDATE 1"


# --- companies ------------------------------------------------------------------------------


async def create_company(conn: Connection, account_id: str, company: CompanyRequest) -> str:
    company_id = new_id("comp")
    await conn.execute(
        "INSERT INTO companies (id, account_id, legal_name, vat_number, country, trade_register, "
        "address, peppol_id, sdi_code, siret, leitweg_id) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        company_id,
        account_id,
        company.legal_name,
        company.vat_number,
        company.country,
        company.trade_register,
        company.address.model_dump(mode="json") if company.address else None,
        company.peppol_id,
        company.sdi_code,
        company.siret,
        company.leitweg_id,
    )
    return company_id


async def mark_company_deleted(conn: Connection, company_id: str) -> None:
    """Hidden from the API and from supplier matching; kept for the invoices that name it."""
    await conn.execute("UPDATE companies SET deleted_at = now() WHERE id = $1", company_id)


async def company_row(conn: Connection, company_id: str) -> Any:
    """The row, deleted or not (None when there is none)."""
    return await conn.fetchrow("SELECT * FROM companies WHERE id = $1", company_id)


async def owned_company_row(conn: Connection, company_id: str, account_id: str) -> Any:
    """The account's company when it is not deleted, else None."""
    return await one_row(conn, "companies", owned(company_id, account_id).add("deleted_at IS NULL"))


async def account_companies(
    conn: Connection, account_id: str, *, country: str | None = None
) -> list[Any]:
    """The account's companies that are not deleted (of one country when given), oldest first."""
    return list(
        await conn.fetch(
            "SELECT * FROM companies WHERE account_id = $1 AND deleted_at IS NULL "
            "AND ($2::text IS NULL OR country = $2) ORDER BY created_at, id",
            account_id,
            country,
        )
    )


async def lock_company_vat(conn: Connection, account_id: str, country: str, vat: str) -> None:
    """One creator at a time of the account's company with this VAT number in this country,
    until the transaction ends."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext('company:' || $1 || ':' || $2 || ':' || $3))",
        account_id,
        country,
        vat,
    )


async def company_id_with_vat(conn: Connection, account_id: str, vat_number: str) -> str | None:
    company_id: str | None = await conn.fetchval(
        "SELECT id FROM companies WHERE account_id = $1 AND vat_number = $2",
        account_id,
        vat_number,
    )
    return company_id


async def vat_number_of(conn: Connection, company_id: str) -> str:
    """The VAT number of a company that exists (a connection's, say: the schema keeps it)."""
    vat: str | None = await conn.fetchval(
        "SELECT vat_number FROM companies WHERE id = $1", company_id
    )
    if vat is None:
        raise LookupError(f"no company {company_id}")
    return vat
