"""Romania: ANAF's e-Factura (RO e-Factura), connected with ANAF's OAuth."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clearway.domain.connections import SetupMethod, TokenPolicy
from clearway.governments.base import Government, RenewalTools, TokenRenewer

if TYPE_CHECKING:
    import httpx

    from clearway.formats import Format
    from clearway.governments.ro.receiving import AnafInbox
    from clearway.governments.ro.responding import AnafResponder
    from clearway.runtime import ServiceContext

# ANAF OAuth: access JWT 129,600 min (90 days), refresh JWT 525,600 min (365 days); a refresh
# answers a new pair.
TOKEN_POLICY = TokenPolicy(
    access_lifetime=dt.timedelta(days=90), refresh_lifetime=dt.timedelta(days=365)
)


class Romania(Government):
    code = "RO"
    name = "Romania"
    adjective = "Romanian"
    system = "ANAF"
    system_display = "ANAF e-Factura"
    setup_method = SetupMethod.OAUTH
    token_policy = TOKEN_POLICY
    vat_id_rules = ("CW-RO-03", "CW-RO-04")  # RO's predate the other countries' CW-xx-01/02
    en16931_syntax = True
    poll_cause = "anaf"  # as the walking skeleton recorded ANAF's decisions

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import conformance, ubl_format  # noqa: PLC0415
        from clearway.governments.ro.document import render_ubl_cius_ro  # noqa: PLC0415

        return (ubl_format("UBL-CIUS-RO", render_ubl_cius_ro, conformance.cius_ro_gate),)

    def token_renewer(self, tools: RenewalTools) -> TokenRenewer:
        from clearway.governments.ro.tokens import AnafRenewer  # noqa: PLC0415

        return AnafRenewer(tools)

    def inbox(
        self, context: ServiceContext, http: httpx.AsyncClient, connection: Mapping[str, Any]
    ) -> AnafInbox:
        """The company's `FACTURA PRIMITA` messages in SPV (governments/ro/receiving.py)."""
        from clearway.governments.ro.identifiers import cif_digits  # noqa: PLC0415
        from clearway.governments.ro.receiving import AnafInbox  # noqa: PLC0415

        tools = RenewalTools(context.settings, http, context.pool)
        endpoint = self.endpoints(context.settings.governments()).for_mode(connection["livemode"])
        cif = cif_digits(connection["vat_number"])
        return AnafInbox(tools, endpoint, connection_id=connection["id"], cif=cif)

    def buyer_response(self, received: Mapping[str, Any]) -> str:
        del received
        return (
            "a RASP message (mesaj cumparator) on the invoice in ANAF's SPV, saying the decision "
            "and its reason; ANAF takes 1,000 a day per buyer CUI"
        )

    def responder(
        self, context: ServiceContext, http: httpx.AsyncClient, received: Mapping[str, Any]
    ) -> AnafResponder:
        """The RASP message on the received invoice, uploaded under the buyer's CUI (its
        company's) with the receiving connection's token at the endpoint of its mode."""
        from clearway.governments.ro.responding import AnafResponder  # noqa: PLC0415

        tools = RenewalTools(context.settings, http, context.pool)
        endpoint = self.endpoints(context.settings.governments()).for_mode(received["livemode"])
        return AnafResponder(
            tools,
            endpoint,
            connection_id=received["connection_id"],
            company_id=received["company_id"],
            download_id=received["government_id"],
            delivered_at=received["delivered_at"],
        )


GOVERNMENT = Romania()
