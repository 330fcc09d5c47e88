"""Accounts, API keys and companies against real PostgreSQL: a key is found by its hash only
while it is not revoked, and a deleted company is neither listed nor matched."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from clearway.accounts import (
    AmbiguousCompanyError,
    create_account,
    create_api_key,
    create_company,
    hash_api_key,
    key_id_of,
    match_company,
    owner_of_api_key,
    revoke_api_key,
)
from clearway.domain.company import CompanyRequest
from clearway.store.accounts import (
    account_companies,
    account_exists,
    mark_company_deleted,
    owned_company_row,
)

pytestmark = [pytest.mark.postgres]


async def test_a_key_answers_for_its_account_until_revoked(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        account_id = await create_account(
            conn, "keys", monthly_invoice_limit=50, rate_limit_per_second=Decimal("2.5")
        )
        live = await create_api_key(conn, account_id, "live")
        test = await create_api_key(conn, account_id, "test")
        owner = await owner_of_api_key(conn, live)
        test_owner = await owner_of_api_key(conn, test)
        stored_hash = await conn.fetchval(
            "SELECT key_hash FROM api_keys WHERE account_id = $1 AND mode = 'live'", account_id
        )
        key_id = await key_id_of(conn, live)
        assert key_id is not None
        revoked = await revoke_api_key(conn, key_id)
        revoked_again = await revoke_api_key(conn, key_id)
        after = await owner_of_api_key(conn, live)
        exists = await account_exists(conn, account_id)
    assert owner is not None
    assert test_owner is not None
    assert (owner.account_id, owner.key_id, owner.livemode) == (account_id, key_id, True)
    assert (owner.monthly_invoice_limit, owner.rate_limit_per_second) == (50, Decimal("2.5"))
    assert not test_owner.livemode
    assert live.startswith("sk_live_")
    assert stored_hash == hash_api_key(live) != live  # only the hash is kept
    assert (revoked, revoked_again, after) == (True, False, None)
    assert exists


async def test_supplier_matching_and_deleted_companies(store_db: asyncpg.Pool[Any]) -> None:
    async with store_db.acquire() as conn:
        account_id = await create_account(conn, "companies")
        first = await create_company(
            conn,
            account_id,
            CompanyRequest(legal_name="Unu SRL", vat_number="RO 123", country="RO"),
        )
        only_one = await match_company(conn, account_id, "RO", "RO999")
        second = await create_company(
            conn,
            account_id,
            CompanyRequest(legal_name="Doi SRL", vat_number="RO456", country="RO"),
        )
        by_vat = await match_company(conn, account_id, "RO", "ro123")
        with pytest.raises(AmbiguousCompanyError):
            await match_company(conn, account_id, "RO", "RO999")
        await mark_company_deleted(conn, second)
        after_delete = await match_company(conn, account_id, "RO", "RO999")
        listed = [row["id"] for row in await account_companies(conn, account_id)]
        hidden = await owned_company_row(conn, second, account_id)
        none_in_italy = await match_company(conn, account_id, "IT", "IT1")
    assert (only_one, by_vat, after_delete) == (first, first, first)
    assert listed == [first]
    assert hidden is None
    assert none_in_italy is None
