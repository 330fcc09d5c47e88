"""Bad input on POST /v1/invoices: a 400 `validation_error` naming every bad field, and nothing
written anywhere (read model, event store, outbox)."""

from __future__ import annotations

import copy
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import error_of

pytestmark = [pytest.mark.stack, pytest.mark.postgres]


async def _row_counts(db: asyncpg.Pool[Any]) -> tuple[int, int, int]:
    async with db.acquire() as conn:
        return (
            await conn.fetchval("SELECT count(*) FROM invoices"),
            await conn.fetchval("SELECT count(*) FROM events"),
            await conn.fetchval("SELECT count(*) FROM idempotency_keys"),
        )


def _without_supplier(body: dict[str, Any]) -> dict[str, Any]:
    del body["supplier"]
    return body


def _non_numeric_price(body: dict[str, Any]) -> dict[str, Any]:
    body["lines"][1]["unitPrice"] = "two hundred"
    return body


def _unknown_country(body: dict[str, Any]) -> dict[str, Any]:
    body["country"] = "XX"
    return body


def _all_three(body: dict[str, Any]) -> dict[str, Any]:
    return _unknown_country(_non_numeric_price(_without_supplier(body)))


@pytest.mark.parametrize(
    ("spoil", "expected_params"),
    [
        (_without_supplier, {"/supplier"}),
        (_non_numeric_price, {"/lines/1/unitPrice"}),
        (_unknown_country, {"/country"}),
        (_all_three, {"/supplier", "/lines/1/unitPrice", "/country"}),
    ],
)
async def test_bad_body_is_a_400_naming_each_field_and_writes_nothing(
    api: httpx.AsyncClient,
    db: asyncpg.Pool[Any],
    seed_invoice: dict[str, Any],
    spoil: Any,
    expected_params: set[str],
) -> None:
    before = await _row_counts(db)
    response = await api.post(
        "/v1/invoices",
        json=spoil(copy.deepcopy(seed_invoice)),
        headers={"X-Idempotency-Key": f"bad-{spoil.__name__}"},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["type"] == "validation_error"
    assert {e["param"] for e in error["errors"]} == expected_params
    assert error["param"] in expected_params
    assert all(e["message"] for e in error["errors"])
    assert await _row_counts(db) == before


async def test_body_that_is_not_json_is_a_400(
    api: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    before = await _row_counts(db)
    response = await api.post(
        "/v1/invoices", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert error_of(response, 400)["type"] == "validation_error"
    assert await _row_counts(db) == before


async def test_missing_or_unknown_key_is_a_401(
    api: httpx.AsyncClient, seed_invoice: dict[str, Any]
) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sk_test_not-a-real-key"}):
        response = await api.post("/v1/invoices", json=seed_invoice, headers=headers)
        assert error_of(response, 401)["type"] == "authentication_error"


async def test_unknown_invoice_is_a_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/invoices/inv_000000000000000000000000")
    assert error_of(response, 404)["type"] == "not_found"
