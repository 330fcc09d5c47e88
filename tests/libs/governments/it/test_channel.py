"""The SDI channel's certificate presented for real: a TLS server that, like SDICoop, requires a
client certificate and trusts only the channel's. The esito's client presents the receiving IT
connection's certificate (the handshake succeeds, and the server sees its subject); a connection
without one is refused before anything is sent, naming what to upload; over plain HTTP (the
sandbox façade) the shared client is used as it is."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from clearway.accounts.connection_secrets import store_secrets
from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.connections import SecretKind
from clearway.governments.it.channel import presenting_certificate
from clearway.governments.it.settings import SdiEndpoint
from clearway.security.self_signed import certificate_pem, key_pem
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from tests.libs.security.certmaker import make_certificate
from tests.libs.store.received import receiving_connection

pytestmark = [pytest.mark.postgres]

CHANNEL_NAME = "SDI channel of the buyer (test)"
# The server, the endpoint trusting it, and the channel certificate and key the server trusts.
Channel = tuple["RequiringServer", SdiEndpoint, tuple[bytes, bytes]]


def _server_certificate() -> tuple[bytes, bytes]:
    """A certificate for 127.0.0.1 (what the client checks the host against), and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "sdi (test)")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return certificate_pem(certificate), key_pem(key)


class RequiringServer:
    """Answers ES01 to whoever completed a handshake with a certificate it trusts, keeping the
    subjects it saw."""

    def __init__(self) -> None:
        self.subjects: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer: Any = writer.get_extra_info("peercert")
        self.subjects.append(dict(pair[0] for pair in peer["subject"])["commonName"])
        await reader.readuntil(b"\r\n\r\n")
        body = b'{"esito": "ES01"}'
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
        writer.close()


@pytest_asyncio.fixture
async def channel(tmp_path: Path) -> AsyncIterator[Channel]:
    """The server, the endpoint that trusts it, and the channel certificate+key it trusts."""
    server_certificate, server_key = _server_certificate()
    (tmp_path / "server.pem").write_bytes(server_certificate + server_key)
    (tmp_path / "ca.pem").write_bytes(server_certificate)
    certificate, key = make_certificate(common_name=CHANNEL_NAME)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "server.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # as SDICoop: no certificate, no handshake
    context.load_verify_locations(cadata=certificate_pem(certificate).decode())
    requiring = RequiringServer()
    server = await asyncio.start_server(requiring.handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    endpoint = SdiEndpoint(f"https://127.0.0.1:{port}/sdi", ca_file=str(tmp_path / "ca.pem"))
    try:
        yield requiring, endpoint, (certificate_pem(certificate), key_pem(key))
    finally:
        server.close()
        await server.wait_closed()


async def _connection(
    pool: asyncpg.Pool[Any], keyring: Any, pair: tuple[bytes, bytes] | None
) -> str:
    """A receiving IT connection holding the channel certificate and key `pair` (None: none)."""
    async with pool.acquire() as conn:
        receiving = await receiving_connection(conn, "IT")
        if pair is not None:
            secrets = {SecretKind.CERTIFICATE: pair[0], SecretKind.PRIVATE_KEY: pair[1]}
            await store_secrets(conn, receiving.connection_id, secrets, keyring=keyring)
    return receiving.connection_id


async def test_the_esito_goes_over_the_receiving_connections_certificate(
    store_db: asyncpg.Pool[Any], keyring: Any, channel: Any
) -> None:
    requiring, endpoint, pair = channel
    connection_id = await _connection(store_db, keyring, pair)
    async with (
        httpx.AsyncClient(timeout=10) as shared,
        presenting_certificate(store_db, connection_id, endpoint, shared) as http,
    ):
        answer = await http.post(f"{endpoint.url}/esiti", json={})
    assert answer.json() == {"esito": "ES01"}
    assert requiring.subjects == [CHANNEL_NAME]

    # The shared client presents nothing: the server refuses its handshake.
    async with httpx.AsyncClient(
        verify=ssl.create_default_context(cafile=endpoint.ca_file)
    ) as bare:
        with pytest.raises(httpx.HTTPError):
            await bare.post(f"{endpoint.url}/esiti", json={})
    assert requiring.subjects == [CHANNEL_NAME]


async def test_a_connection_without_a_certificate_is_refused_before_sending(
    store_db: asyncpg.Pool[Any], keyring: Any, channel: Any
) -> None:
    requiring, endpoint, _ = channel
    connection_id = await _connection(store_db, keyring, None)
    async with httpx.AsyncClient(timeout=10) as shared:
        with pytest.raises(
            GovernmentRefusedError, match="no active channel certificate"
        ) as refused:
            async with presenting_certificate(store_db, connection_id, endpoint, shared):
                pass
    assert "POST /v1/connections/:id/certificate" in refused.value.message
    assert requiring.subjects == []


async def test_over_plain_http_the_shared_client_is_the_channel(
    store_db: asyncpg.Pool[Any],
) -> None:
    async with httpx.AsyncClient() as shared:
        sandbox = SdiEndpoint("http://govsim/sdi")
        async with presenting_certificate(store_db, "conn_unused", sandbox, shared) as http:
            assert http is shared
