"""A company connected to the simulated ANAF, as the RO tests with real PostgreSQL need it."""

from __future__ import annotations

from clearway.accounts import create_account
from clearway.accounts.connection_secrets import store_secrets
from clearway.db import Connection
from clearway.domain.connections import SecretKind

from services.govsim.ro.state import AnafSimulator
from tests.libs.pipeline.filing_rows import connected_company


async def anaf_connection(
    conn: Connection, simulator: AnafSimulator, cif: str, account_name: str
) -> tuple[str, str]:
    """A new account's company of `cif` with an active connection holding tokens the simulator
    minted (for any CIF); the connection's id and its access token."""
    tokens = simulator.oauth.mint(None)
    account_id = await create_account(conn, account_name)
    connection_id = await connected_company(conn, account_id, "RO", vat_number=f"RO{cif}")
    await store_secrets(
        conn,
        connection_id,
        {
            SecretKind.ACCESS_TOKEN: tokens["access_token"],
            SecretKind.REFRESH_TOKEN: tokens["refresh_token"],
        },
    )
    return connection_id, tokens["access_token"]
