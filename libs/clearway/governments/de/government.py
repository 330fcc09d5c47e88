"""Germany: B2B over the Peppol network, B2G through the federal and state platforms (ZRE,
OZG-RE) in XRechnung. An invoice whose buyer reference (BT-10) is a Leitweg-ID goes to a public
buyer, through ZRE; any other over Peppol."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from clearway.domain.connections import (
    PEPPOL_SCHEME_GERMAN_VAT,
    MissingIdentifierError,
    NetworkCredentials,
)
from clearway.governments.de import identifiers as de
from clearway.governments.peppol.network import OverPeppol

if TYPE_CHECKING:
    import httpx

    from clearway.config import GovernmentEndpoints, Governments
    from clearway.formats import Format
    from clearway.pipeline.decisions import Follower
    from clearway.pipeline.filing.machine import Route
    from clearway.pipeline.filing.service import FilerSetup
    from clearway.runtime import ServiceContext
    from clearway.translation.message import Message


class Germany(OverPeppol):
    code = "DE"
    name = "Germany"
    adjective = "German"
    system_display = "The German e-invoicing platform"
    vat_id_rules = ("CW-DE-01", "CW-DE-02")

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

        return (*errors.MESSAGES, *super().messages())  # B2G platforms, and B2B over Peppol

    def participant(self, vat_number: str) -> NetworkCredentials:
        number = de.compact_vat_number(vat_number)
        if not de.is_ust_idnr_format(number):
            raise MissingIdentifierError(
                "Peppol needs the company's German VAT number (DE + 9 digits) or a peppolId "
                "like 9930:DE123456789."
            )
        return NetworkCredentials(scheme=PEPPOL_SCHEME_GERMAN_VAT, identifier=f"DE{number}")

    def receivable_document_types(self) -> tuple[str, ...]:
        from clearway.governments.peppol.receiving import XRECHNUNG_TYPES  # noqa: PLC0415

        return (*super().receivable_document_types(), *XRECHNUNG_TYPES)

    def receiver_problem(self, participant_id: str) -> str | None:
        scheme, _, identifier = participant_id.partition(":")
        if scheme == PEPPOL_SCHEME_GERMAN_VAT and not (
            identifier.upper().startswith("DE") and de.is_ust_idnr_format(identifier)
        ):
            return "German VAT number (DE and 9 digits)"
        return None

    # --- where an invoice goes: ZRE for a public buyer, else Peppol -----------------------------

    def filing_endpoints(
        self, governments: Governments, request: Mapping[str, Any]
    ) -> GovernmentEndpoints[Any]:
        from clearway.governments.de.client import leitweg_id_of  # noqa: PLC0415

        return governments.zre if leitweg_id_of(request) is not None else governments.peppol

    def route(self, setup: FilerSetup) -> Route:
        from clearway.governments.de.client import ZreClient, leitweg_id_of  # noqa: PLC0415
        from clearway.governments.peppol.filing import ZreFiler  # noqa: PLC0415
        from clearway.pipeline.filing.service import filer_in_mode  # noqa: PLC0415

        over_peppol = super().route(setup)
        to_zre = filer_in_mode(
            setup.context.settings.governments().zre,
            lambda platform: ZreFiler(ZreClient(platform.url, platform.api_key, setup.http)),
            livemode=setup.livemode,
        )
        return lambda request: (
            to_zre() if leitweg_id_of(request) is not None else over_peppol(request)
        )

    def status_follower(
        self, context: ServiceContext, http: httpx.AsyncClient, *, livemode: bool
    ) -> Follower:
        from clearway.governments.de.status import (  # noqa: PLC0415
            GermanStatusFollower,
            ZreStatusFollower,
        )
        from clearway.pipeline.decisions import follower_in_mode  # noqa: PLC0415

        zre = follower_in_mode(
            context.settings.governments().zre,
            lambda platform: ZreStatusFollower(http, platform),
            livemode=livemode,
        )
        peppol = super().status_follower(context, http, livemode=livemode)
        return GermanStatusFollower(zre=zre, peppol=peppol)


GOVERNMENT = Germany()
