"""Identifiers and timestamps as the public API shows them."""

from __future__ import annotations

import datetime as dt
import secrets


def new_id(prefix: str) -> str:
    """`inv_…`, `evt_…`, `acct_…`: a type prefix and 96 random bits."""
    return f"{prefix}_{secrets.token_hex(12)}"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso_millis(moment: dt.datetime) -> str:
    """2025-01-15T10:00:00.000Z, the seed's timestamp form."""
    return (
        moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{moment.microsecond // 1000:03d}Z"
    )
