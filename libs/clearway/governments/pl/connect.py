"""Connecting a company to KSeF: with a KSeF token the company generated in the portal, or with
a certificate carrying its NIP (the login signed with XAdES). Either way KSeF's challenge flow
answers tokens, and the credential is kept, sealed, to log in again when the 7-day refresh token
runs out; a connection keeps one credential. The HTTP side is intake's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from clearway.accounts.connection_secrets import purge_secrets
from clearway.accounts.connections import activate_with_tokens
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.governments.pl import identifiers as pl
from clearway.governments.pl.auth import KsefTokens
from clearway.security import CertificateBundle


class NotANipError(ValueError):
    """The company's VAT number is not a Polish NIP, which KSeF authenticates."""


def nip_of(vat_number: str) -> str:
    nip = pl.compact(vat_number)
    if not pl.is_nip_format(nip):
        raise NotANipError(
            "KSeF authenticates a Polish NIP: the company's VAT number is not one (PL + 10 digits)."
        )
    return nip


async def activate_with_ksef_token(
    conn: Connection, row: Mapping[str, Any], tokens: KsefTokens, token: str, *, now: dt.datetime
) -> Any:
    # One credential: a certificate connected before no longer logs in.
    await purge_secrets(conn, row["id"], [SecretKind.CERTIFICATE, SecretKind.PRIVATE_KEY])
    return await activate_with_tokens(
        conn, row, "PL", tokens, now=now, extra_secrets={SecretKind.KSEF_TOKEN: token}
    )


async def activate_with_certificate(
    conn: Connection,
    row: Mapping[str, Any],
    tokens: KsefTokens,
    bundle: CertificateBundle,
    *,
    now: dt.datetime,
) -> Any:
    await purge_secrets(conn, row["id"], [SecretKind.KSEF_TOKEN])  # one credential
    return await activate_with_tokens(
        conn,
        row,
        "PL",
        tokens,
        now=now,
        extra_secrets={
            SecretKind.CERTIFICATE: bundle.certificate_pem,
            SecretKind.PRIVATE_KEY: bundle.private_key_pem,
        },
    )
