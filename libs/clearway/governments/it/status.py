"""What the poller reads about one file sent to SDI, and what its notifications mean.

Real SDI pushes its notifications to the transmitter's receiver; the façade's
GET /files/{id}/notifications stands in for what that receiver recorded (governments/it/client.py).

    none yet  SDI is still checking the file (it has up to 5 days): ask again.
    RC        ricevuta di consegna: delivered to the buyer, the invoice is issued. Accepted; the
              RC file is the receipt.
    NS        notifica di scarto: refused, the invoice is not issued. Rejected with each error in
              SDI's words ("00305: 1.4.1.1.2 <IdCodice> non valido"), translated.
    MC        mancata consegna. To a business: SDI could not deliver it, but the invoice is issued
              (for VAT it exists from SDI's processing) and was put in the buyer's reserved area
              (cassetto fiscale) at the Agenzia delle Entrate. The seller's part is done, so the
              user sees `accepted`, with a govMessage saying where the buyer finds it and that the
              seller must tell the buyer (a copy by other means); the MC file is the receipt. To a
              public administration SDI keeps trying for 10 days: pending until RC, or AT
              (attestazione di avvenuta trasmissione: deemed delivered), which is accepted too.
    DT, NE    only after an RC to a public administration, which is already accepted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import httpx

from clearway.connectors import GovCall
from clearway.db import Connection
from clearway.governments.it.client import Notification, SdiClient, SdiUnknownFileError
from clearway.governments.it.settings import SdiEndpoint
from clearway.pipeline.decisions import Accepted, AskingFollower, Outcome, Pending, Rejected
from clearway.pipeline.polling import NO_PUBLISHED_LIMIT
from clearway.runtime import ServiceContext
from clearway.store.status_polls import Poll

# SDI publishes no call limit and has up to 5 days to notify (an NS comes within 5 days of
# receipt); after an MC to a public administration, AT comes 10 days later: waiting at least
# 11 days.
CADENCE = replace(NO_PUBLISHED_LIMIT, shortest_deadline=dt.timedelta(days=11))

MC_ISSUED = (
    "MC (mancata consegna): SDI could not deliver the invoice to the buyer, but it is issued. "
    "SDI made it available to the buyer in their reserved area (cassetto fiscale) at the "
    "Agenzia delle Entrate; tell the buyer it is there (a copy by e-mail is customary)."
)


class SdiStatusFollower(AskingFollower):
    def __init__(self, http: httpx.AsyncClient, sdi: SdiEndpoint) -> None:
        self._sdi = SdiClient(sdi.url, http)

    async def ask(self, conn: Connection, poll: Poll, calls: list[GovCall]) -> Outcome:
        identificativo = poll.upload_id
        try:
            notifications = await self._sdi.notifications(identificativo, calls)
        except SdiUnknownFileError as exc:
            # A file SdIRiceviFile registered is never forgotten: ask again until the deadline.
            return Pending(f"SDI does not know IdentificativoSdI {identificativo}: {exc}")
        return await _meaning(conn, poll, identificativo, notifications)


async def _meaning(
    conn: Connection, poll: Poll, identificativo: str, notifications: list[Notification]
) -> Outcome:
    """What the notifications so far decide (see the module's table)."""
    by_kind = {notification.tipo: notification for notification in notifications}
    if "NS" in by_kind:
        return Rejected(gov_id=identificativo, messages=by_kind["NS"].errors(), report=None)
    if "RC" in by_kind:
        return _accepted(identificativo, by_kind["RC"], _delivered_message(by_kind["RC"]))
    if "AT" in by_kind:
        message = (
            "AT (attestazione di avvenuta trasmissione): the public administration could "
            "not be reached for 10 days; SDI attests the invoice was transmitted."
        )
        return _accepted(identificativo, by_kind["AT"], message)
    if "MC" in by_kind:
        if await _to_public_administration(conn, poll.invoice_id):
            return Pending("MC: SDI could not deliver to the public administration yet")
        return _accepted(identificativo, by_kind["MC"], MC_ISSUED)
    return Pending(f"SDI is processing file {identificativo}: no notification yet")


def _accepted(identificativo: str, notification: Notification, message: str) -> Accepted:
    return Accepted(
        gov_id=identificativo,
        gov_message=message,
        receipt=notification.xml,
        content_type="application/xml",
        file_name=notification.name,
    )


def _delivered_message(rc: Notification) -> str:
    delivered_at = rc.text("DataOraConsegna")
    to = rc.text("Destinatario/Codice")
    return f"RC (ricevuta di consegna): delivered to {to or 'the buyer'} on {delivered_at}"


async def _to_public_administration(conn: Connection, invoice_id: str) -> bool:
    """FPA12 documents go to a public administration (SDI keeps trying after an MC)."""
    xml: bytes | None = await conn.fetchval(
        "SELECT xml FROM documents WHERE invoice_id = $1", invoice_id
    )
    return xml is not None and b'versione="FPA12"' in xml[:1000]


def follower(
    context: ServiceContext, http: httpx.AsyncClient, endpoint: SdiEndpoint
) -> SdiStatusFollower:
    del context  # asked with the endpoint's own credentials, nothing of the deployment's
    return SdiStatusFollower(http, endpoint)
