"""France: the PPF directory and the approved platforms (PA), reached with the company's SIREN."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clearway.domain.connections import (
    FRENCH_SCHEME_SIREN,
    MissingIdentifierError,
    NetworkCredentials,
    SetupMethod,
)
from clearway.governments.base import Government
from clearway.governments.fr import identifiers as fr

if TYPE_CHECKING:
    import httpx

    from clearway.domain.invoice import InvoiceRequest
    from clearway.formats import Format
    from clearway.governments.fr.receiving import PaInbox
    from clearway.governments.fr.responding import PaResponder
    from clearway.runtime import ServiceContext


class France(Government):
    code = "FR"
    name = "France"
    adjective = "French"
    system = "PPF directory"
    system_display = "The French e-invoicing platform"
    setup_method = SetupMethod.NETWORK
    token_policy = None
    vat_id_rules = ("CW-FR-01", "CW-FR-02")
    en16931_syntax = True
    connected_with = "Plateforme agréée"  # the company's platform, reached through the directory

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import (  # noqa: PLC0415
            CII_GATES,
            PDF,
            XML,
            Format,
            conformance,
            ubl_format,
            xml_renderer,
        )
        from clearway.governments.fr.document import (  # noqa: PLC0415
            render_en16931_cii,
            render_en16931_ubl,
        )

        french_cii = (*CII_GATES, conformance.cen_cii_gate, conformance.fr_ctc_cii_gate)
        return (
            ubl_format("EN16931-UBL", render_en16931_ubl, conformance.fr_ctc_ubl_gate),
            Format("EN16931-CII", XML, xml_renderer(render_en16931_cii), french_cii),
            Format("FACTUR-X", PDF, _factur_x, french_cii),
        )

    def network_credentials(
        self, *, vat_number: str, peppol_id: str | None, siret: str | None
    ) -> NetworkCredentials:
        del peppol_id  # the French directory knows companies by SIREN only
        siren = (fr.compact(siret)[: fr.SIREN_LENGTH] if siret else None) or fr.vat_number_siren(
            vat_number
        )
        if siren is None or len(siren) != fr.SIREN_LENGTH or not siren.isdigit():
            raise MissingIdentifierError(
                "The French directory needs the company's SIREN: give its siret or a French VAT "
                "number (FR + key + SIREN)."
            )
        return NetworkCredentials(scheme=FRENCH_SCHEME_SIREN, identifier=siren)

    def inbox(
        self, context: ServiceContext, http: httpx.AsyncClient, connection: Mapping[str, Any]
    ) -> PaInbox:
        """The company's incoming invoice flows at the PA (governments/fr/receiving.py), read
        with Clearway's platform account; the company is its connection's SIREN (the directory
        identifier it was connected with), else its French VAT number's."""
        from clearway.governments.fr.client import PaClient  # noqa: PLC0415
        from clearway.governments.fr.receiving import PaInbox  # noqa: PLC0415

        platform = self.endpoints(context.settings.governments()).for_mode(connection["livemode"])
        siren = connection.get("network_identifier") or fr.vat_number_siren(
            connection.get("vat_number") or ""
        )
        return PaInbox(
            PaClient(platform.url, platform.api_key, http),
            siren=siren,
            active=connection.get("status", "active") == "active",
        )

    def buyer_response(self, received: Mapping[str, Any]) -> str:
        del received
        return "the buyer's lifecycle status through the PA (205 Approuvée, 210 Refusée)"

    def responder(
        self, context: ServiceContext, http: httpx.AsyncClient, received: Mapping[str, Any]
    ) -> PaResponder:
        """The buyer's status on the received flow (its government id), sent with Clearway's
        platform account at its mode's platform."""
        from clearway.governments.fr.client import PaClient  # noqa: PLC0415
        from clearway.governments.fr.responding import PaResponder  # noqa: PLC0415

        platform = self.endpoints(context.settings.governments()).for_mode(received["livemode"])
        return PaResponder(
            PaClient(platform.url, platform.api_key, http), received["government_id"]
        )


def _factur_x(invoice: InvoiceRequest, invoice_number: str) -> tuple[bytes, bytes]:
    from clearway.formats.cii import write_cii  # noqa: PLC0415
    from clearway.governments.fr.document import factur_x_pdf, french_document  # noqa: PLC0415

    document = french_document(invoice, invoice_number=invoice_number)
    xml = write_cii(document)
    return factur_x_pdf(document, xml), xml


GOVERNMENT = France()
