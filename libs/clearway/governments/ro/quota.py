"""ANAF's per-message daily quotas (10 downloads, 100 status checks a message a day), counted
as ANAF counts them: a call counts once ANAF answered it. A call it did not take (429, 500,
503, a refused connection) or whose token it refused spends nothing, so throttling never uses
up a message's downloads; a call whose answer was lost counts (ANAF may have answered it).

The room is looked at before the call and the call counted after it, so two replicas asking
about the same message at once could both go out at the last unit: ANAF then refuses one in
its own words ("S-au facut deja …"), which the callers read as the quota reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable
from typing import TypeVar

from clearway.db import Connection
from clearway.domain.ids import utcnow
from clearway.governments.ro.client import AnafAuthError, AnafError, AnafUnavailableError
from clearway.resilience.ratelimit import DailyQuota, calls_left, count_call, next_day_starts

T = TypeVar("T")


async def quota_resets_at(conn: Connection, quota: DailyQuota) -> dt.datetime | None:
    """None when a call may go out today; else when the quota's next day begins."""
    now = utcnow()
    if await calls_left(conn, quota, now) > 0:
        return None
    return next_day_starts(quota, now)


async def counted_if_answered(conn: Connection, quota: DailyQuota, call: Awaitable[T]) -> T:
    """Await the call; count it against the quota unless ANAF took nothing."""
    try:
        result = await call
    except (AnafUnavailableError, AnafAuthError):
        raise
    except AnafError:
        await count_call(conn, quota, utcnow())
        raise
    await count_call(conn, quota, utcnow())
    return result
