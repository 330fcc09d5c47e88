"""What submitter-ro decides for one due `submissions` row.

    pending      upload. Taken: `invoice.submitted`. Refused in ANAF's words: `invoice.error`
                 with the translation and the fix. Not taken (refused connection, 429, 500,
                 503, "eroare tehnica"): again after a backoff with jitter (Retry-After
                 honoured), up to SUBMIT_MAX_ATTEMPTS. Answer lost (timeout, 502/504):
                 reconciling.
    uploading    the process died while an upload was in flight: reconciling, as if its answer
                 had been lost. Never uploaded again blindly.
    reconciling  search ANAF's message list (listaMesajePaginatieFactura) for the lost upload,
                 download the accepted candidates and compare them with the document. Found:
                 `invoice.submitted` with that upload index. Not found once the reconciliation
                 window has passed: pending (uploaded again).

A 401/403 refreshes the token once (refresh_refused_token); refused again, or not refreshable,
the connection expires and the invoice goes to `error`. Every call, first to last, is kept in
`gov_calls` and shown as the final event's `attempts`. Calls go out only within ANAF's limits
(a bucket shared by every replica) and past the endpoint's circuit breaker (this process's);
held back, the row is simply due again later.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import httpx

from clearway.accounts import connection_token
from clearway.config import AnafEndpoint
from clearway.connectors import GovCall
from clearway.domain.ids import utcnow
from clearway.domain.sandbox import scenario_headers
from clearway.eventstore import Connection
from clearway.governments.ro.client import (
    GOV_ENDPOINT,
    AnafAuthError,
    AnafClient,
    AnafOutcomeUnknownError,
    AnafRefusedError,
    AnafTransientError,
    ListedMessage,
    MessageKind,
    calls_bucket,
    download_quota,
    paged_list_quota,
)
from clearway.governments.ro.identifiers import cif_digits
from clearway.governments.ro.oauth import AnafOAuthClient
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.reconcile import (
    InvoiceFingerprint,
    candidates,
    fingerprint_document,
    fingerprint_download,
    same_invoice,
)
from clearway.governments.ro.tokens import (
    expire_after_second_refusal,
    refresh_refused_token,
    refused_twice_message,
)
from clearway.pipeline.filing import (
    ClaimedSubmission,
    HeldBackError,
    SubmissionGate,
    document_or_fail,
    fail_connection_lost,
    fail_inactive_connection,
    fail_refused,
    fail_unconfirmed,
    finish_uploaded,
    mark_uploading,
    record_calls,
    retry_at,
)
from clearway.resilience.ratelimit import DailyQuota
from clearway.runtime import ServiceContext

log = logging.getLogger(__name__)

UPLOAD = "POST /upload"
MESSAGE_LIST = "GET /listaMesajePaginatieFactura"
DOWNLOAD = "GET /descarcare"
RECONCILE_FIRST_CHECK = dt.timedelta(seconds=2)  # ANAF lists a message once it processed it
LIST_MARGIN = dt.timedelta(minutes=2)  # list rows are stamped to the minute
KNOWN_UPLOADS_LOOKBACK = dt.timedelta(days=1)


class ConnectionLostError(Exception):
    """ANAF refused the connection's token and it could not be renewed."""


class AnafSubmitter:
    def __init__(
        self, context: ServiceContext, http: httpx.AsyncClient, anaf: AnafEndpoint
    ) -> None:
        settings = context.settings
        self._anaf = AnafClient(anaf.rest_url, http)
        self._oauth = AnafOAuthClient(anaf.oauth_url, anaf.client_id, anaf.client_secret, http)
        self._calls = calls_bucket(anaf.rest_url, settings.anaf.calls_per_minute)
        self._reconcile_window = dt.timedelta(seconds=settings.anaf.reconcile_window)
        self._gate = SubmissionGate(context.pool, context.settings)

    async def work(self, submission: ClaimedSubmission) -> None:
        await self._gate.work(submission, lambda conn: self._step(conn, submission))

    async def _step(self, conn: Connection, submission: ClaimedSubmission) -> None:
        if submission.state == "pending":
            await self._upload(conn, submission)
        elif submission.state == "uploading":
            await self._lost_in_flight(conn, submission)
        elif submission.state == "reconciling":
            await self._reconcile(conn, submission)

    async def _may_call(
        self, conn: Connection, endpoint: str, quota: DailyQuota | None = None
    ) -> None:
        """Raise HeldBackError unless a call to `endpoint` may go out now: its breaker, ANAF's
        call limit, and the endpoint's daily quota where it has one."""
        await self._gate.may_call(conn, endpoint, self._calls, quota=quota)

    # --- pending: upload -----------------------------------------------------------------------

    async def _upload(self, conn: Connection, submission: ClaimedSubmission) -> None:
        await self._may_call(conn, UPLOAD)
        token = await connection_token(conn, submission.connection_id)
        if token is None:
            await fail_inactive_connection(conn, submission, [], government=GOV_ENDPOINT)
            return
        xml = await document_or_fail(conn, submission)
        if xml is None:
            return
        submission = await mark_uploading(conn, submission, self._gate.lease)
        calls: list[GovCall] = []
        try:
            result = await self._upload_refreshing_once(conn, submission, xml, token, calls)
        except AnafOutcomeUnknownError as exc:
            self._gate.settled(UPLOAD, calls, failed=True)
            await self._start_reconciling(conn, submission, calls, str(exc))
            return
        except AnafTransientError as exc:
            self._gate.settled(UPLOAD, calls, failed=True)
            await self._retry(conn, submission, calls, str(exc), retry_after=exc.retry_after)
            return
        except AnafRefusedError as exc:
            await fail_refused(conn, submission, calls, [exc.message], government=GOV_ENDPOINT)
            return
        except ConnectionLostError as exc:
            await fail_connection_lost(conn, submission, calls, str(exc), government=GOV_ENDPOINT)
            return
        self._gate.settled(UPLOAD, calls, failed=False)
        if result.upload_id is not None:
            await finish_uploaded(
                conn,
                submission,
                upload_id=result.upload_id,
                calls=calls,
                metadata={"govEndpoint": GOV_ENDPOINT},
            )
        elif result.technical_error:
            await self._retry(conn, submission, calls, "; ".join(result.errors))
        else:
            await fail_refused(
                conn, submission, calls, list(result.errors), government=GOV_ENDPOINT
            )

    async def _upload_refreshing_once(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        xml: bytes,
        token: str,
        calls: list[GovCall],
    ) -> Any:
        cif = cif_digits(submission.supplier_vat)
        headers = scenario_headers(
            submission.sandbox_scenario,
            submission.ref.invoice_id,
            livemode=submission.ref.livemode,
        )
        try:
            return await self._anaf.upload(xml, cif=cif, token=token, headers=headers, calls=calls)
        except AnafAuthError:
            fresh = await refresh_refused_token(conn, submission.connection_id, token, self._oauth)
            if fresh is None:
                raise ConnectionLostError(
                    "ANAF refused the connection's token and it could not be refreshed: the "
                    "connection is now expired."
                ) from None
        try:
            return await self._anaf.upload(xml, cif=cif, token=fresh, headers=headers, calls=calls)
        except AnafAuthError as again:
            await expire_after_second_refusal(conn, submission.connection_id, again.status)
            raise ConnectionLostError(refused_twice_message(again.status)) from None

    # --- reconciling ---------------------------------------------------------------------------

    async def _start_reconciling(
        self, conn: Connection, submission: ClaimedSubmission, calls: list[GovCall], reason: str
    ) -> None:
        started = submission.updated_at  # set when the upload was marked in flight
        log.warning(
            "the answer to the upload of %s was lost (%s); reconciling with ANAF's list",
            submission.ref.invoice_id,
            reason,
        )
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn,
                submission,
                utcnow() + RECONCILE_FIRST_CHECK,
                state="reconciling",
                last_error=reason,
                uncertain_since=submission.uncertain_since or started,
                reconcile_until=started + self._reconcile_window,
            )

    async def _lost_in_flight(self, conn: Connection, submission: ClaimedSubmission) -> None:
        await self._start_reconciling(
            conn, submission, [], "the submitter stopped while the upload was in flight"
        )

    async def _reconcile(self, conn: Connection, submission: ClaimedSubmission) -> None:
        since = submission.uncertain_since or submission.updated_at
        cif = cif_digits(submission.supplier_vat)
        await self._may_call(conn, MESSAGE_LIST, paged_list_quota(cif))
        token = await connection_token(conn, submission.connection_id)
        if token is None:
            await self._fail_unconfirmed(conn, submission, [])
            return
        xml: bytes = await conn.fetchval(
            "SELECT xml FROM documents WHERE invoice_id = $1", submission.ref.invoice_id
        )
        known = {
            row["upload_id"]
            for row in await conn.fetch(
                "SELECT upload_id FROM submissions WHERE connection_id = $1 "
                "AND upload_id IS NOT NULL AND updated_at >= $2",
                submission.connection_id,
                since - KNOWN_UPLOADS_LOOKBACK,
            )
        }
        calls: list[GovCall] = []
        try:
            found = await self._find_lost_upload(
                conn,
                cif=cif,
                since=since,
                token=token,
                ours=fingerprint_document(xml),
                known=known,
                calls=calls,
            )
        except AnafAuthError:
            fresh = await refresh_refused_token(conn, submission.connection_id, token, self._oauth)
            if fresh is None:
                await self._fail_unconfirmed(conn, submission, calls)
                return
            await self._check_again(conn, submission, calls, "token refreshed", at=utcnow())
            return
        except (AnafTransientError, AnafRefusedError) as exc:
            self._gate.settled(MESSAGE_LIST, calls, failed=isinstance(exc, AnafTransientError))
            await self._check_again(conn, submission, calls, f"message list: {exc}")
            return
        except HeldBackError as held:  # a later page or a download must wait: keep the calls
            await self._check_again(conn, submission, calls, held.reason, at=held.at)
            return
        self._gate.settled(MESSAGE_LIST, calls, failed=False)
        if found is not None:
            log.info("found the lost upload of %s: index %s", submission.ref.invoice_id, found)
            await finish_uploaded(
                conn,
                submission,
                upload_id=found.upload_id,
                calls=calls,
                metadata={"govEndpoint": GOV_ENDPOINT, "reconciled": True},
            )
        elif submission.reconcile_until is not None and utcnow() >= submission.reconcile_until:
            log.warning(
                "ANAF's list has no upload of %s after the reconciliation window; uploading again",
                submission.ref.invoice_id,
            )
            async with conn.transaction():
                await record_calls(conn, submission.ref.invoice_id, "submission", calls)
                await retry_at(
                    conn,
                    submission,
                    utcnow(),
                    state="pending",
                    last_error="not in ANAF's message list after the reconciliation window",
                )
        else:
            await self._check_again(conn, submission, calls, "not in ANAF's message list yet")

    async def _check_again(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        calls: list[GovCall],
        reason: str,
        *,
        at: dt.datetime | None = None,
    ) -> None:
        """Look again later: sooner at first, at most a minute apart."""
        since = submission.uncertain_since or submission.updated_at
        elapsed = (utcnow() - since).total_seconds()
        pause = dt.timedelta(seconds=min(max(elapsed / 4, 1.0), 60.0))
        async with conn.transaction():
            await record_calls(conn, submission.ref.invoice_id, "submission", calls)
            await retry_at(
                conn, submission, at or utcnow() + pause, state="reconciling", last_error=reason
            )

    async def _find_lost_upload(  # noqa: PLR0913 - what the search compares
        self,
        conn: Connection,
        *,
        cif: str,
        since: dt.datetime,
        token: str,
        ours: InvoiceFingerprint,
        known: set[str],
        calls: list[GovCall],
    ) -> ListedMessage | None:
        end = utcnow() - dt.timedelta(seconds=1)  # ANAF refuses an endTime in its future
        page = 1
        while True:
            listing = await self._anaf.list_messages(
                cif=cif,
                start=since - LIST_MARGIN,
                end=end,
                page=page,
                token=token,
                list_filter="T",
                calls=calls,
            )
            for candidate in candidates(listing.messages, since=since, known_upload_ids=known):
                theirs = await self._fingerprint(conn, candidate, token, calls)
                if theirs is not None and same_invoice(ours, theirs):
                    return candidate
            if page >= listing.pages:
                return None
            page += 1
            await self._may_call(conn, MESSAGE_LIST, paged_list_quota(cif))

    async def _fingerprint(
        self, conn: Connection, message: ListedMessage, token: str, calls: list[GovCall]
    ) -> InvoiceFingerprint | None:
        """What an accepted message holds; downloaded once, then remembered."""
        row = await conn.fetchrow(
            "SELECT document_sha256, invoice_number, issue_date, cif "
            "FROM anaf_message_fingerprints WHERE download_id = $1",
            message.download_id,
        )
        if row is not None:
            return InvoiceFingerprint(
                document_sha256=row["document_sha256"],
                invoice_number=row["invoice_number"],
                issue_date=row["issue_date"],
                supplier_cif=row["cif"],
            )
        if message.kind != MessageKind.SENT:
            return None
        # Counted against the message's 10 downloads a day only once ANAF answered (a 429
        # spends none of them).
        quota = download_quota(message.download_id)
        resets_at = await quota_resets_at(conn, quota)
        if resets_at is not None:
            raise HeldBackError(resets_at, f"daily quota {quota.key}")
        await self._may_call(conn, DOWNLOAD)
        try:
            content = await counted_if_answered(
                conn, quota, self._anaf.download(message.download_id, token=token, calls=calls)
            )
        except AnafRefusedError as exc:
            log.warning("could not download candidate %s: %s", message.download_id, exc)
            return None
        fingerprint = fingerprint_download(content)
        await conn.execute(
            "INSERT INTO anaf_message_fingerprints (download_id, upload_id, cif, "
            "document_sha256, invoice_number, issue_date) VALUES ($1, $2, $3, $4, $5, $6) "
            "ON CONFLICT (download_id) DO NOTHING",
            message.download_id,
            message.upload_id,
            fingerprint.supplier_cif or message.cif,
            fingerprint.document_sha256,
            fingerprint.invoice_number,
            fingerprint.issue_date,
        )
        return fingerprint

    async def _retry(
        self,
        conn: Connection,
        submission: ClaimedSubmission,
        calls: list[GovCall],
        reason: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        await self._gate.retry_or_give_up(
            conn, submission, calls, reason, government=GOV_ENDPOINT, retry_after=retry_after
        )

    async def _fail_unconfirmed(
        self, conn: Connection, submission: ClaimedSubmission, calls: list[GovCall]
    ) -> None:
        await fail_unconfirmed(
            conn,
            submission,
            calls,
            government=GOV_ENDPOINT,
            where_to_check="the company's message list in SPV (ANAF's portal)",
        )
