"""At POST time (REST and the Kafka intake alike): an invoice nothing could file is refused."""

from __future__ import annotations

from clearway.accounts import ApiKeyOwner
from clearway.config import LiveNotConfiguredError
from clearway.db import Connection
from clearway.domain.invoice import InvoiceRequest
from clearway.store.connections import live_connection

from services.intake.errors import ApiError
from services.intake.settings import service_settings


async def fileable_company(
    conn: Connection, owner: ApiKeyOwner, invoice: InvoiceRequest, company_id: str | None
) -> str:
    """The invoice's company (`company_id`, None when it has none), which must have a
    connection for the invoice's country in the key's mode: without either nothing could file
    the invoice, so it is refused now, saying how to fix it, rather than accepted and left in
    `error`. (An expired or unfinished connection is accepted: the invoice waits in `error`
    for the user to authorize again. So is a live invoice for a government this deployment has
    no live settings for: no connection can be made, and the submitter's `error` names the
    settings an operator must give.)"""
    country = invoice.country
    if company_id is None:
        raise ApiError(
            "validation_error",
            f"This account has no company in {country} for the supplier "
            f"{invoice.supplier.vat_number}. Create it (POST /v1/companies with its legalName, "
            f'vatNumber and country), connect it (POST /v1/connections {{"companyId", '
            f'"countryCode": "{country}"}}), then send the invoice again.',
            param="/companyId",
        )
    connected = await live_connection(conn, company_id, country, livemode=owner.livemode)
    if connected is None and not _live_not_configured(owner, country):
        mode = "live" if owner.livemode else "sandbox"
        raise ApiError(
            "validation_error",
            f"Company {company_id} has no {mode} {country} connection, so nothing can file "
            f'this invoice. Connect it (POST /v1/connections {{"companyId": "{company_id}", '
            f'"countryCode": "{country}"}}) and finish its setup, then send the invoice again.',
            param="/country",
        )
    return company_id


def _live_not_configured(owner: ApiKeyOwner, country: str) -> bool:
    if not owner.livemode:
        return False
    try:
        service_settings().governments().for_connections(country).for_mode(livemode=True)
    except LiveNotConfiguredError:
        return True
    return False
