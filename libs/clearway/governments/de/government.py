"""Germany: B2B over the Peppol network, B2G through the federal and state platforms (ZRE,
OZG-RE) in XRechnung."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.domain.connections import (
    PEPPOL_SCHEME_GERMAN_VAT,
    MissingIdentifierError,
    NetworkCredentials,
    SetupMethod,
    declared_peppol_id,
)
from clearway.governments.base import Government
from clearway.governments.de import identifiers as de

if TYPE_CHECKING:
    from clearway.formats import Format
    from clearway.translation.message import Message


class Germany(Government):
    code = "DE"
    name = "Germany"
    adjective = "German"
    system = "Peppol"
    system_display = "The German e-invoicing platform"
    setup_method = SetupMethod.NETWORK
    token_policy = None
    vat_id_rules = ("CW-DE-01", "CW-DE-02")
    en16931_syntax = True
    over_peppol = True

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import CII_GATES, XML, Format, conformance, xml_renderer  # noqa: PLC0415
        from clearway.governments.de.document import (  # noqa: PLC0415
            render_xrechnung_cii,
            render_xrechnung_ubl,
        )

        return (
            Format(
                "XRECHNUNG-UBL",
                XML,
                xml_renderer(render_xrechnung_ubl),
                (
                    conformance.ubl_xsd_gate,
                    conformance.xrechnung_cen_ubl_gate,
                    conformance.xrechnung_ubl_gate,
                ),
            ),
            Format(
                "XRECHNUNG-CII",
                XML,
                xml_renderer(render_xrechnung_cii),
                (*CII_GATES, conformance.xrechnung_cen_cii_gate, conformance.xrechnung_cii_gate),
            ),
        )

    def messages(self) -> tuple[Message, ...]:
        from clearway.governments.de import errors  # noqa: PLC0415
        from clearway.governments.peppol import errors as peppol  # noqa: PLC0415

        return (*errors.MESSAGES, *peppol.MESSAGES)  # B2G platforms, and B2B over Peppol

    def network_credentials(
        self, *, vat_number: str, peppol_id: str | None, siret: str | None
    ) -> NetworkCredentials:
        del siret
        declared = declared_peppol_id(peppol_id)
        if declared is not None:
            return declared
        number = de.compact_vat_number(vat_number)
        if not de.is_ust_idnr_format(number):
            raise MissingIdentifierError(
                "Peppol needs the company's German VAT number (DE + 9 digits) or a peppolId "
                "like 9930:DE123456789."
            )
        return NetworkCredentials(scheme=PEPPOL_SCHEME_GERMAN_VAT, identifier=f"DE{number}")


GOVERNMENT = Germany()
