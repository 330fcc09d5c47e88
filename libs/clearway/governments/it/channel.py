"""The SDI channel's certificate: SDICoop authenticates a channel (the transmitter filing, the
recipient sending its esito) by the TLS client certificate the company uploaded to its IT
connection (POST /v1/connections/:id/certificate). It is read at each use, since a renewed one
may have been uploaded since."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx

from clearway.accounts.connection_secrets import read_secret
from clearway.connectors.calls import GovernmentRefusedError
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.governments.it.client import client_tls
from clearway.governments.it.settings import SdiEndpoint

RENEW_CERTIFICATE = (
    "Upload the channel's renewed certificate (POST /v1/connections/:id/certificate) or "
    "connect the company again (POST /v1/connections)."
)


def presents_certificates(sdi: SdiEndpoint) -> bool:
    """Over plain HTTP (the sandbox façade) there is no handshake to present a certificate in."""
    return sdi.url.startswith("https://")


async def channel_certificate(conn: Connection, connection_id: str) -> tuple[str, str] | None:
    """The active connection's channel certificate and private key (PEM); None when the
    connection is not active or holds none."""
    if not await conn.fetchval(
        "SELECT 1 FROM connections WHERE id = $1 AND status = 'active'", connection_id
    ):
        return None
    certificate = await read_secret(conn, connection_id, SecretKind.CERTIFICATE)
    private_key = await read_secret(conn, connection_id, SecretKind.PRIVATE_KEY)
    if certificate is None or private_key is None:
        return None
    return certificate, private_key


@asynccontextmanager
async def presenting_certificate(
    pool: asyncpg.Pool[Any], connection_id: str, sdi: SdiEndpoint, http: httpx.AsyncClient
) -> AsyncIterator[httpx.AsyncClient]:
    """A client presenting `connection_id`'s channel certificate to SDI, for one call (an
    esito is rare: no client is kept); `http` itself over plain HTTP. A connection without an
    active certificate is a refusal naming what to upload: SDI would refuse the handshake."""
    if not presents_certificates(sdi):
        yield http
        return
    async with pool.acquire() as conn:
        found = await channel_certificate(conn, connection_id)
    if found is None:
        raise GovernmentRefusedError(
            f"The IT connection {connection_id} has no active channel certificate, which SDI "
            f"authenticates the call by. {RENEW_CERTIFICATE}"
        )
    certificate, private_key = found
    context = client_tls(certificate, private_key, ca_file=sdi.ca_file)
    async with httpx.AsyncClient(verify=context, timeout=http.timeout) as channel:
        yield channel
