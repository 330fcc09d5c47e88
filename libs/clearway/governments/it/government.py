"""Italy: the Sistema di Interscambio (SDI), reached through an accredited channel's
certificate."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clearway.domain.connections import SetupMethod
from clearway.governments.base import Government

if TYPE_CHECKING:
    import httpx

    from clearway.config import Settings
    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats import Format
    from clearway.governments.it.responding import SdiResponder
    from clearway.governments.pushed import PushChannel
    from clearway.runtime import ServiceContext

SETUP_STEPS = (
    (
        "Accredit a transmission channel with the Sistema di Interscambio (SDICoop web service "
        "or SDIFTP) at https://www.fatturapa.gov.it; the accreditation gives the channel's "
        "client certificate."
    ),
    (
        'Upload the certificate with its private key to uploadUrl: {"format": "pem", '
        '"certificate": "<certificate and key, PEM>"} or {"format": "pkcs12", '
        '"certificate": "<.p12 in base64>", "password": "…"}.'
    ),
    (
        "The connection becomes active; tokenExpiresAt is when the certificate expires. Upload "
        "the renewed certificate the same way before then."
    ),
)


class Italy(Government):
    code = "IT"
    name = "Italy"
    adjective = "Italian"
    system = "SDI"
    system_display = "SDI"
    setup_method = SetupMethod.CERTIFICATE
    token_policy = None  # the certificate expires with the connection
    vat_id_rules = ("CW-IT-01", "CW-IT-02")
    en16931_syntax = False  # FatturaPA splits the prefix from the number
    setup_steps = SETUP_STEPS

    def buyer_response(self, received: Mapping[str, Any]) -> str:
        # Asked for any received FatturaPA: SDI itself refuses a B2B one (SE), as it says.
        del received
        return (
            "SDI's Notifica di Esito Committente (EC01 accepted, EC02 refused), taken for a "
            "public administration's invoice (FPA12) within 15 days of its delivery"
        )

    def responder(
        self, context: ServiceContext, http: httpx.AsyncClient, received: Mapping[str, Any]
    ) -> SdiResponder:
        """The esito on the received file, through SDI's endpoint of the invoice's mode, over the
        receiving connection's channel certificate."""
        from clearway.governments.it.channel import presenting_certificate  # noqa: PLC0415
        from clearway.governments.it.client import SdiClient  # noqa: PLC0415
        from clearway.governments.it.esito import received_fattura  # noqa: PLC0415
        from clearway.governments.it.responding import SdiResponder  # noqa: PLC0415

        endpoint = self.endpoints(context.settings.governments()).for_mode(received["livemode"])
        evidence = received["evidence"]
        fattura = received_fattura(
            bytes(received["document"]),
            bytes(evidence) if evidence is not None else None,
            received["government_id"],
        )
        connection_id = received["connection_id"]
        return SdiResponder(
            SdiClient(endpoint.url, http),
            fattura,
            lambda: presenting_certificate(context.pool, connection_id, endpoint, http),
        )

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import XML, Format  # noqa: PLC0415
        from clearway.formats.xsd_gate import fatturapa_gate  # noqa: PLC0415

        return (Format("FATTURAPA", XML, _fatturapa, (fatturapa_gate,)),)

    def push_channel(self, settings: Settings) -> PushChannel:
        from clearway.governments.it.receiving import sdi_channel  # noqa: PLC0415

        return sdi_channel(settings)


def _fatturapa(invoice: InvoiceRequest, invoice_number: str) -> tuple[bytes, bytes]:
    from clearway.governments.it.document import render_fatturapa  # noqa: PLC0415

    # ProgressivoInvio names the file to SDI; it is derived from the invoice number, so a
    # re-render of the same invoice names the same file (SDI refuses a duplicate name: 00002).
    digest = int.from_bytes(hashlib.sha256(invoice_number.encode()).digest()[:8], "big")
    progressivo = _base36(digest)[-5:].rjust(5, "0")
    xml = render_fatturapa(invoice, invoice_number=invoice_number, progressivo=progressivo)
    return xml, xml


def _base36(number: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, remainder = divmod(number, 36)
        text = digits[remainder] + text
    return text or "0"


GOVERNMENT = Italy()
