"""Belgium: invoices travel over the Peppol network (clearway.governments.peppol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.domain.connections import (
    MissingIdentifierError,
    NetworkCredentials,
    SetupMethod,
    declared_peppol_id,
)
from clearway.governments.base import Government
from clearway.governments.be import identifiers as be

if TYPE_CHECKING:
    from clearway.formats import Format
    from clearway.translation.message import Message


class Belgium(Government):
    code = "BE"
    name = "Belgium"
    adjective = "Belgian"
    system = "Peppol"
    system_display = "The Peppol network"
    setup_method = SetupMethod.NETWORK
    token_policy = None
    vat_id_rules = ("CW-BE-01", "CW-BE-02")
    en16931_syntax = True
    over_peppol = True

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import UBL_GATES, XML, Format, conformance, xml_renderer  # noqa: PLC0415
        from clearway.governments.peppol.document import render_peppol_bis  # noqa: PLC0415

        return (
            Format(
                "PEPPOL-BIS-3",
                XML,
                xml_renderer(render_peppol_bis),
                (*UBL_GATES, conformance.peppol_bis_gate),
            ),
        )

    def messages(self) -> tuple[Message, ...]:
        from clearway.governments.peppol.errors import MESSAGES  # noqa: PLC0415

        return MESSAGES  # Belgium's invoices travel over Peppol: its errors are Peppol's

    def network_credentials(
        self, *, vat_number: str, peppol_id: str | None, siret: str | None
    ) -> NetworkCredentials:
        del siret
        declared = declared_peppol_id(peppol_id)
        if declared is not None:
            return declared
        number = be.compact(vat_number)
        if not be.is_enterprise_number_format(number):
            raise MissingIdentifierError(
                "Peppol needs the company's Belgian enterprise number: give a BE VAT number "
                "(BE + 10 digits) or a peppolId like 0208:0123456749."
            )
        return NetworkCredentials(scheme=be.PEPPOL_SCHEME_ENTERPRISE_NUMBER, identifier=number)


GOVERNMENT = Belgium()
