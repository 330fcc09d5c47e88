"""Belgium: invoices travel over the Peppol network (clearway.governments.peppol)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.domain.connections import MissingIdentifierError, NetworkCredentials
from clearway.governments.be import identifiers as be
from clearway.governments.peppol.network import OverPeppol

if TYPE_CHECKING:
    from clearway.formats import Format


class Belgium(OverPeppol):
    code = "BE"
    name = "Belgium"
    adjective = "Belgian"
    system_display = "The Peppol network"
    vat_id_rules = ("CW-BE-01", "CW-BE-02")

    def formats(self) -> tuple[Format, ...]:  # imports on first call: base.py says why
        from clearway.formats import conformance, ubl_format  # noqa: PLC0415
        from clearway.governments.peppol.document import render_peppol_bis  # noqa: PLC0415

        return (ubl_format("PEPPOL-BIS-3", render_peppol_bis, conformance.peppol_bis_gate),)

    def participant(self, vat_number: str) -> NetworkCredentials:
        number = be.compact(vat_number)
        if not be.is_enterprise_number_format(number):
            raise MissingIdentifierError(
                "Peppol needs the company's Belgian enterprise number: give a BE VAT number "
                "(BE + 10 digits) or a peppolId like 0208:0123456749."
            )
        return NetworkCredentials(scheme=be.PEPPOL_SCHEME_ENTERPRISE_NUMBER, identifier=number)

    def receiver_problem(self, participant_id: str) -> str | None:
        scheme, _, identifier = participant_id.partition(":")
        if scheme == be.PEPPOL_SCHEME_ENTERPRISE_NUMBER and not be.is_valid_enterprise_number(
            identifier
        ):
            return "Belgian enterprise number (10 digits, the last two mod 97)"
        if scheme == be.PEPPOL_SCHEME_VAT_NUMBER and not (
            identifier.upper().startswith("BE") and be.is_valid_enterprise_number(identifier)
        ):
            return "Belgian VAT number (BE and an enterprise number)"
        return None


GOVERNMENT = Belgium()
