"""The buyer's response to an invoice received through ANAF: a RASP message (the "mesaj
cumparator"), uploaded by the buyer like an invoice (`POST /upload?standard=RASP&cif=<buyer
CUI>`, client.AnafClient.upload) with the body
`<header xmlns="mfp:anaf:dgti:spv:reqMesaj:v1" index_incarcare="<the invoice's upload index>"
message="<text>"/>`, and answered as an upload is (respUploadFisier: index_incarcare, or
ExecutionStatus=1 with ANAF's Errors). ANAF takes 1,000 RASP uploads a day per CUI.

RASP refers to the invoice by its upload index (the list row's id_solicitare), while a received
invoice is kept under its message id (the row's `id`, what descarcare takes): the index is
looked up in the buyer's message list (filtru=P) in the minute ANAF stamped the row with
(`delivered_at`, its data_creare).

ANAF's lists do not say which invoice a buyer message answers (the reference is silent), so
after an attempt whose answer was lost the message cannot be looked for: it is sent again, and
the supplier may read it twice.
"""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from lxml import etree

from clearway.accounts import connection_token
from clearway.domain.ids import utcnow
from clearway.domain.responses import BuyerResponse, Decision, ResponseReceipt
from clearway.governments.responding import ResponseImpossibleError
from clearway.governments.ro.apis import anaf_apis
from clearway.governments.ro.client import (
    ROMANIA,
    AnafAuthError,
    AnafRefusedError,
    AnafTransientError,
    AnafUnavailableError,
    MessageKind,
    paged_list_quota,
)
from clearway.governments.ro.identifiers import cif_digits
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.receiving import END_LAG, LOOKBACK
from clearway.governments.ro.tokens import refresh_refused_token, refused_twice_message
from clearway.resilience.ratelimit import DailyQuota, next_day_starts, take_token
from clearway.store.accounts import vat_number_of

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from clearway.db import Connection
    from clearway.governments.base import RenewalTools
    from clearway.governments.ro.settings import AnafEndpoint

T = TypeVar("T")

RASP = "RASP"
RASP_NS = "mfp:anaf:dgti:spv:reqMesaj:v1"
RASP_UPLOADS_PER_CIF_PER_DAY = 1_000
RASP_QUOTA_REACHED = "S-au incarcat deja"  # how ANAF begins "1000 RASP messages today"
_MINUTE = dt.timedelta(minutes=1)  # data_creare is stamped to the minute

# The decision in Romanian (the supplier reads it in SPV) and English. ANAF's reference gives no
# length limit for `message`; the reason is at most REASON_MAX_LENGTH (255), so the message
# stays under 320 characters.
_DECISION_TEXT = {
    Decision.ACCEPT: "Factura acceptata / Invoice accepted",
    Decision.REJECT: "Factura respinsa / Invoice rejected",
}


def rasp_quota(cif: str) -> DailyQuota:
    return DailyQuota(f"anaf:rasp:{cif}", RASP_UPLOADS_PER_CIF_PER_DAY, ROMANIA)


def rasp_message(response: BuyerResponse) -> str:
    """The RASP message's text: the decision, and its reason when there is one. Pure."""
    text = _DECISION_TEXT[response.decision]
    return f"{text}. Motiv / Reason: {response.reason}" if response.reason else f"{text}."


def rasp_document(upload_index: str, response: BuyerResponse) -> bytes:
    """The RASP upload's body for the invoice uploaded with `upload_index`. Pure."""
    root = etree.Element(f"{{{RASP_NS}}}header", nsmap={None: RASP_NS})  # type: ignore[dict-item]
    root.set("index_incarcare", upload_index)
    root.set("message", rasp_message(response))
    return etree.tostring(root, encoding="UTF-8", xml_declaration=True, standalone=True)


class AnafResponder:
    """Sends the buyer's RASP message on one received invoice (its message id, `download_id`,
    listed at `delivered_at`) under the buyer's CUI, with the connection's OAuth token
    (refreshed once when ANAF refuses it)."""

    def __init__(  # noqa: PLR0913 - the invoice's and the connection's parts, all named
        self,
        tools: RenewalTools,
        endpoint: AnafEndpoint,
        *,
        connection_id: str,
        company_id: str,
        download_id: str,
        delivered_at: dt.datetime | None,
        clock: Callable[[], dt.datetime] = utcnow,
    ) -> None:
        self._tools = tools
        self._anaf, self._oauth, self._calls = anaf_apis(endpoint, tools.http, tools.settings)
        self._connection_id = connection_id
        self._company_id = company_id
        self._download_id = download_id
        self._delivered_at = delivered_at
        self._clock = clock

    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        del attempts  # nothing to look for first: the module's docstring says why
        async with self._tools.pool.acquire() as conn:
            token = await connection_token(conn, self._connection_id, keyring=self._tools.keyring)
            if token is None:
                raise ResponseImpossibleError("the company's ANAF connection is not active")
            cif = cif_digits(await vat_number_of(conn, self._company_id))
            return await self._refreshing_once(
                conn, token, lambda token: self._send(conn, cif, response, token)
            )

    async def _send(
        self, conn: Connection, cif: str, response: BuyerResponse, token: str
    ) -> ResponseReceipt:
        upload_index = await self._upload_index(conn, cif, token)
        answer = await self._upload(conn, cif, rasp_document(upload_index, response), token)
        details = {"index_incarcare": answer, "invoiceIndex": upload_index, "cif": cif}
        return ResponseReceipt(network_id=answer, details=details)

    async def _refreshing_once(
        self, conn: Connection, token: str, call: Callable[[str], Awaitable[T]]
    ) -> T:
        try:
            return await call(token)
        except AnafAuthError:
            fresh = await refresh_refused_token(conn, self._connection_id, token, self._oauth)
        if fresh is None:
            raise ResponseImpossibleError(
                "ANAF refused the connection's token and it could not be refreshed"
            )
        try:
            return await call(fresh)
        except AnafAuthError as again:
            raise ResponseImpossibleError(refused_twice_message(again.status)) from again

    async def _upload_index(self, conn: Connection, cif: str, token: str) -> str:
        """The invoice's upload index: its row's id_solicitare in the buyer's list."""
        if self._delivered_at is None:
            raise ResponseImpossibleError("the invoice has no ANAF message date to find it by")
        now = self._clock()
        if self._delivered_at < now - LOOKBACK:
            raise ResponseImpossibleError("ANAF keeps an invoice's message 60 days only")
        start, end = self._delivered_at, min(self._delivered_at + _MINUTE, now - END_LAG)
        page, pages = 1, 1
        while page <= pages:
            listing = await self._call(
                conn,
                paged_list_quota(cif),
                partial(
                    self._anaf.list_received,
                    cif=cif,
                    start=start,
                    end=end,
                    page=page,
                    token=token,
                ),
            )
            for row in listing.messages:
                if row.download_id == self._download_id and row.kind == MessageKind.RECEIVED:
                    return row.upload_id
            page, pages = page + 1, listing.pages
        raise ResponseImpossibleError(
            f"ANAF does not list the invoice's message {self._download_id} for CUI {cif}"
        )

    async def _upload(self, conn: Connection, cif: str, document: bytes, token: str) -> str:
        """The RASP upload under the buyer's CUI; its index_incarcare. Every answered upload
        counts against the 1,000 a day, a refused one too: whether ANAF counts those, the
        reference does not say, so Clearway errs on the side of asking less."""
        quota = rasp_quota(cif)
        result = await self._call(
            conn, quota, partial(self._anaf.upload, document, cif=cif, token=token, standard=RASP)
        )
        if result.upload_id is not None:
            return result.upload_id
        reason = "; ".join(result.errors)
        if result.technical_error:
            raise AnafUnavailableError(f"ANAF: {reason}")
        if reason.startswith(RASP_QUOTA_REACHED):  # ANAF's count, ahead of Clearway's
            raise _until_tomorrow(quota, reason)
        raise AnafRefusedError(f"ANAF refused the RASP message: {reason}")

    async def _call(
        self, conn: Connection, quota: DailyQuota, call: Callable[[], Awaitable[T]]
    ) -> T:
        """One call within ANAF's per-minute limit and `quota`; held back: tried again later."""
        wait = await take_token(conn, self._calls)
        if wait:
            raise AnafTransientError("ANAF's call limit", retry_after=wait)
        if await quota_resets_at(conn, quota) is not None:
            raise _until_tomorrow(quota, f"ANAF's daily quota ({quota.key})")
        return await counted_if_answered(conn, quota, call())


def _until_tomorrow(quota: DailyQuota, reason: str) -> AnafTransientError:
    now = utcnow()
    wait = (next_day_starts(quota, now) - now).total_seconds()
    return AnafTransientError(reason, retry_after=max(wait, 1.0))
