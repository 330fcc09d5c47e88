"""A company an account files invoices for, as POST /v1/companies takes it."""

from __future__ import annotations

from clearway.domain.invoice import Address, Country, ShortText, _Model


class CompanyRequest(_Model):
    legalName: ShortText  # noqa: N815 - public wire names
    vatNumber: ShortText  # noqa: N815
    country: Country
    tradeRegister: ShortText | None = None  # noqa: N815
    address: Address | None = None
    peppolId: ShortText | None = None  # noqa: N815
    sdiCode: ShortText | None = None  # noqa: N815
    siret: ShortText | None = None
    leitwegId: ShortText | None = None  # noqa: N815
