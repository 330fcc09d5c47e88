"""Poland: KSeF, the national e-invoice system, connected with a KSeF token or a certificate
carrying the NIP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clearway.domain.connections import SetupMethod, TokenPolicy
from clearway.governments.base import Government, RenewalTools, TokenRenewer

if TYPE_CHECKING:
    import httpx

    from clearway.formats import Format
    from clearway.governments.pl.receiving import KsefInbox
    from clearway.runtime import ServiceContext

# KSeF 2.0: access token "several minutes" (15 in the documentation's sample), refresh token up
# to 7 days; a refresh answers a new access token only.
TOKEN_POLICY = TokenPolicy(
    access_lifetime=dt.timedelta(minutes=15),
    refresh_lifetime=dt.timedelta(days=7),
    reauthenticate_before=dt.timedelta(days=1),
)

SETUP_STEPS = (
    (
        "Log in to KSeF (https://ksef.mf.gov.pl, or the test environment) with a qualified "
        "signature or seal and generate a KSeF token with the right to issue invoices for the "
        "company's NIP."
    ),
    (
        'Send it to uploadUrl: {"token": "<KSeF token>"}. Clearway authenticates with KSeF\'s '
        "challenge flow, keeps the token encrypted, and authenticates again with it before "
        "KSeF's 7-day refresh token runs out."
    ),
    (
        "Or, instead of a token, a certificate whose subject carries the company's NIP (a "
        "qualified seal with organizationIdentifier VATPL-<NIP>, a qualified signature with "
        "serialNumber TINPL-<NIP>, or a KSeF certificate) with its private key: POST it to "
        '/v1/connections/<id>/certificate as {"format": "pem", "certificate": "<certificate '
        'and key, PEM>"} or {"format": "pkcs12", "certificate": "<.p12 in base64>", '
        '"password": "…"}. Clearway signs KSeF\'s challenge with it (XAdES) and logs in with '
        "it again before the refresh token runs out, until the certificate expires."
    ),
)


class Poland(Government):
    code = "PL"
    name = "Poland"
    adjective = "Polish"
    system = "KSeF"
    system_display = "KSeF"
    setup_method = SetupMethod.KSEF_TOKEN
    token_policy = TOKEN_POLICY
    vat_id_rules = ("CW-PL-01", "CW-PL-02")
    en16931_syntax = False  # FA(3) splits the prefix from the number
    setup_steps = SETUP_STEPS

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import XML, Format, xml_renderer  # noqa: PLC0415
        from clearway.formats.xsd_gate import fa3_gate  # noqa: PLC0415
        from clearway.governments.pl.document import render_fa3  # noqa: PLC0415

        return (Format("FA3", XML, xml_renderer(render_fa3), (fa3_gate,)),)

    def token_renewer(self, tools: RenewalTools) -> TokenRenewer:
        from clearway.governments.pl.tokens import KsefRenewer  # noqa: PLC0415

        return KsefRenewer(tools)

    def inbox(
        self, context: ServiceContext, http: httpx.AsyncClient, connection: Mapping[str, Any]
    ) -> KsefInbox:
        """The invoices KSeF keeps with the company's NIP as the buyer
        (governments/pl/receiving.py)."""
        from clearway.governments.pl.identifiers import compact  # noqa: PLC0415
        from clearway.governments.pl.receiving import KsefInbox  # noqa: PLC0415

        tools = RenewalTools(context.settings, http, context.pool)
        endpoint = self.endpoints(context.settings.governments()).for_mode(connection["livemode"])
        nip = compact(connection["vat_number"])
        return KsefInbox(tools, endpoint, connection_id=connection["id"], nip=nip)


GOVERNMENT = Poland()
