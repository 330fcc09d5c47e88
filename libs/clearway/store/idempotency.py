"""The `idempotency_keys` table: the first answer to each X-Idempotency-Key, per account and
mode, so a retried request gets it again instead of a second invoice."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from clearway.db import Connection


class IdempotentAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_hash: str
    invoice_id: str
    response_status: int | None  # None: kept before first answers were stored
    response_body: str | None


async def lock_key(conn: Connection, account_id: str, key: str) -> None:
    """Serialise requests with the same key until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1 || ':' || $2))", account_id, key)


async def first_answer(
    conn: Connection, account_id: str, key: str, *, livemode: bool
) -> IdempotentAnswer | None:
    row = await conn.fetchrow(
        "SELECT request_hash, invoice_id, response_status, response_body FROM idempotency_keys "
        "WHERE account_id = $1 AND livemode = $2 AND key = $3",  # a mode's keys are its own
        account_id,
        livemode,
        key,
    )
    return None if row is None else IdempotentAnswer.model_validate(dict(row))


async def record_answer(
    conn: Connection, account_id: str, key: str, answer: IdempotentAnswer, *, livemode: bool
) -> None:
    await conn.execute(
        "INSERT INTO idempotency_keys (account_id, livemode, key, request_hash, "
        "invoice_id, response_status, response_body) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        account_id,
        livemode,
        key,
        answer.request_hash,
        answer.invoice_id,
        answer.response_status,
        answer.response_body,
    )
