"""A company an account files invoices for, as POST /v1/companies takes it."""

from __future__ import annotations

from clearway.domain.invoice import Address, Country, ShortText, _Model


class CompanyRequest(_Model):
    legal_name: ShortText
    vat_number: ShortText
    country: Country
    trade_register: ShortText | None = None
    address: Address | None = None
    peppol_id: ShortText | None = None
    sdi_code: ShortText | None = None
    siret: ShortText | None = None
    leitweg_id: ShortText | None = None
