"""Connecting a company to SDI: the accredited channel's certificate and key, sealed; the
connection is active until the certificate expires. The HTTP side is intake's."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from clearway.accounts.connections import activate_connection
from clearway.db import Connection
from clearway.domain.connections import SecretKind
from clearway.security import CertificateBundle


async def activate_with_certificate(
    conn: Connection, row: Mapping[str, Any], bundle: CertificateBundle
) -> Any:
    return await activate_connection(
        conn,
        row,
        secrets={
            SecretKind.CERTIFICATE: bundle.certificate_pem,
            SecretKind.PRIVATE_KEY: bundle.private_key_pem,
        },
        token_expires_at=bundle.not_valid_after,
        # The refresher cannot renew a certificate: it expires the connection then.
        refresh_at=bundle.not_valid_after,
    )
