"""The gate every submitter calls a government through: the endpoint's breaker asked once per
call (so a half-open breaker's probe goes out and can close it), a 429 no failure, and the
shared call limits, each refusal saying when to come back."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from clearway.config import Settings
from clearway.connectors import GovCall
from clearway.pipeline.filing.gate import HeldBackError, SubmissionGate
from clearway.resilience.ratelimit import DailyQuota, TokenBucket, next_day_starts

pytestmark = [pytest.mark.postgres]

if TYPE_CHECKING:
    Replicas = tuple[asyncpg.Pool[Any], asyncpg.Pool[Any]]

RESET_SECONDS = 0.3
ROMANIA = ZoneInfo("Europe/Bucharest")
UPLOAD = "POST /upload"


def _gate(_pool: asyncpg.Pool[Any]) -> SubmissionGate:
    """A replica's gate (its breakers are its own; the limits are in the pool's database)."""
    settings = Settings(
        database_url="unused", kafka_bootstrap="unused", breaker_reset_seconds=RESET_SECONDS
    )
    return SubmissionGate(settings)


def _answered(status: int | None) -> list[GovCall]:
    return [GovCall(endpoint=UPLOAD, http_status=status, duration_ms=5, outcome=f"http_{status}")]


async def _failures(
    gate: SubmissionGate, conn: Any, status: int | None, times: int = 5, *, asked: bool = True
) -> None:
    """`times` calls to UPLOAD answered `status` and settled as failed (each first let through
    the gate unless not `asked`)."""
    for _ in range(times):
        if asked:
            await gate.may_call(conn, UPLOAD)
        gate.settled(UPLOAD, _answered(status), failed=True)


async def test_five_failures_hold_the_endpoint_back_until_the_pause_ends(
    replicas: Replicas,
) -> None:
    gate = _gate(replicas[0])
    async with replicas[0].acquire() as conn:
        await _failures(gate, conn, 503)
        before = dt.datetime.now(dt.UTC)
        with pytest.raises(HeldBackError) as held:
            await gate.may_call(conn, UPLOAD)
        assert held.value.reason == f"{UPLOAD}: circuit open"
        assert before < held.value.at <= before + dt.timedelta(seconds=1)  # at least 0.5 s on
        await gate.may_call(conn, "GET /stareMesaj")  # another endpoint is not held back


async def test_a_429_is_no_failure_of_the_endpoint(replicas: Replicas) -> None:
    gate = _gate(replicas[0])
    async with replicas[0].acquire() as conn:
        await _failures(gate, conn, 429, 10)
        await gate.may_call(conn, UPLOAD)


async def test_after_the_pause_one_probe_goes_out_and_its_success_closes_the_breaker(
    replicas: Replicas,
) -> None:
    gate = _gate(replicas[0])
    async with replicas[0].acquire() as conn:
        await _failures(gate, conn, None, asked=False)
        await asyncio.sleep(RESET_SECONDS + 0.05)
        await gate.may_call(conn, UPLOAD)  # the probe
        with pytest.raises(HeldBackError):
            await gate.may_call(conn, UPLOAD)  # nobody else while it is out
        gate.settled(UPLOAD, _answered(201), failed=False)
        for _ in range(3):
            await gate.may_call(conn, UPLOAD)


async def test_a_spent_call_limit_holds_the_call_back_for_the_next_token(
    replicas: Replicas,
) -> None:
    bucket = TokenBucket(f"test:{secrets.token_hex(4)}", capacity=1, per_second=2)
    first, second = _gate(replicas[0]), _gate(replicas[1])  # two replicas, one limit
    async with replicas[0].acquire() as conn, replicas[1].acquire() as other:
        await first.may_call(conn, UPLOAD, bucket)
        before = dt.datetime.now(dt.UTC)
        with pytest.raises(HeldBackError) as held:
            await second.may_call(other, UPLOAD, bucket)
    assert held.value.reason == f"call limit {bucket.key}"
    assert before < held.value.at <= before + dt.timedelta(seconds=0.6)  # a token every 0.5 s


async def test_a_probe_held_back_by_a_limit_leaves_the_probe_to_the_next_caller(
    replicas: Replicas,
) -> None:
    gate = _gate(replicas[0])
    spent = TokenBucket(f"test:{secrets.token_hex(4)}", capacity=1, per_second=0.01)
    async with replicas[0].acquire() as conn:
        await gate.may_call(conn, "GET /other", spent)  # the bucket's only token
        await _failures(gate, conn, 503, asked=False)
        await asyncio.sleep(RESET_SECONDS + 0.05)
        with pytest.raises(HeldBackError) as held:
            await gate.may_call(conn, UPLOAD, spent)  # let through as the probe, then held
        assert held.value.reason == f"call limit {spent.key}"
        await gate.may_call(conn, UPLOAD)  # at once the probe, not a whole pause later
        with pytest.raises(HeldBackError):
            await gate.may_call(conn, UPLOAD)


async def test_a_spent_daily_quota_holds_the_call_back_to_the_next_day(
    replicas: Replicas,
) -> None:
    quota = DailyQuota(f"test:{secrets.token_hex(4)}", limit=1, timezone=ROMANIA)
    gate = _gate(replicas[0])
    async with replicas[0].acquire() as conn:
        await gate.may_call(conn, UPLOAD, quota=quota)
        with pytest.raises(HeldBackError) as held:
            await gate.may_call(conn, UPLOAD, quota=quota)
    assert held.value.reason == f"daily quota {quota.key}"
    assert held.value.at == next_day_starts(quota, dt.datetime.now(dt.UTC))
