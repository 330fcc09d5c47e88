"""ANAF e-Factura's part of the filing machine (clearway.pipeline.filing): the Filer
submitter-ro runs.

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

import httpx

from clearway.accounts import connection_token
from clearway.config import Settings
from clearway.domain.ids import utcnow
from clearway.governments.ro.apis import anaf_apis
from clearway.governments.ro.client import (
    GOV_ENDPOINT,
    AnafAuthError,
    AnafError,
    AnafRefusedError,
    AnafTransientError,
    ListedMessage,
    MessageKind,
    UploadResult,
    download_quota,
    paged_list_quota,
)
from clearway.governments.ro.identifiers import cif_digits
from clearway.governments.ro.quota import counted_if_answered, quota_resets_at
from clearway.governments.ro.reconcile import (
    InvoiceFingerprint,
    candidates,
    fingerprint_document,
    fingerprint_download,
    same_invoice,
)
from clearway.governments.ro.settings import AnafEndpoint
from clearway.governments.ro.tokens import (
    expire_after_second_refusal,
    refresh_refused_token,
    refused_twice_message,
)
from clearway.pipeline.filing import outcomes
from clearway.pipeline.filing.gate import HeldBackError
from clearway.pipeline.filing.outcomes import Attempt, CallLimits
from clearway.pipeline.filing.service import FilerSetup
from clearway.store import submissions
from clearway.store.submissions import ClaimedSubmission

log = logging.getLogger(__name__)

UPLOAD = "POST /upload"
MESSAGE_LIST = "GET /listaMesajePaginatieFactura"
DOWNLOAD = "GET /descarcare"
RECONCILE_FIRST_CHECK = dt.timedelta(seconds=2)  # ANAF lists a message once it processed it
LIST_MARGIN = dt.timedelta(minutes=2)  # list rows are stamped to the minute
KNOWN_UPLOADS_LOOKBACK = dt.timedelta(days=1)
WHERE_TO_CHECK = "the company's message list in SPV (ANAF's portal)"


class ConnectionLostError(Exception):
    """ANAF refused the connection's token and it could not be renewed."""


class AnafFiler:
    government = GOV_ENDPOINT
    first_look_after = RECONCILE_FIRST_CHECK

    def __init__(self, settings: Settings, http: httpx.AsyncClient, anaf: AnafEndpoint) -> None:
        self._anaf, self._oauth, self._calls = anaf_apis(anaf, http, settings)
        self.reconcile_window = dt.timedelta(seconds=settings.anaf.reconcile_window)

    def upload_limits(self, submission: ClaimedSubmission) -> CallLimits:  # noqa: ARG002
        return CallLimits(UPLOAD, (self._calls,))

    def find_limits(self, submission: ClaimedSubmission) -> CallLimits:
        return CallLimits(
            MESSAGE_LIST, (self._calls,), paged_list_quota(cif_digits(submission.supplier_vat))
        )

    # --- pending: upload -----------------------------------------------------------------------

    async def upload(self, attempt: Attempt, document: bytes) -> outcomes.UploadOutcome:
        token = await connection_token(attempt.conn, attempt.submission.connection_id)
        if token is None:
            return outcomes.ConnectionInactive()
        await attempt.in_flight()
        try:
            result = await self._upload_refreshing_once(attempt, document, token)
        except AnafError as exc:
            return outcomes.upload_failed(exc)
        except ConnectionLostError as exc:
            return outcomes.ConnectionLost(reason=str(exc))
        # ANAF answered: whatever its answer says, the endpoint works.
        if result.upload_id is not None:
            return outcomes.Uploaded(upload_id=result.upload_id)
        if result.technical_error:
            return outcomes.NotTaken(reason="; ".join(result.errors), endpoint_failed=False)
        return outcomes.Refused(messages=list(result.errors), endpoint_failed=False)

    async def _upload_refreshing_once(
        self, attempt: Attempt, xml: bytes, token: str
    ) -> UploadResult:
        submission, conn, calls = attempt.submission, attempt.conn, attempt.calls
        cif = cif_digits(submission.supplier_vat)
        headers = attempt.scenario_headers
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

    async def find(self, attempt: Attempt) -> outcomes.FindOutcome:  # noqa: PLR0911 - an outcome each
        submission, conn = attempt.submission, attempt.conn
        since = submission.uncertain_since or submission.updated_at
        cif = cif_digits(submission.supplier_vat)
        token = await connection_token(conn, submission.connection_id)
        if token is None:
            return outcomes.Unconfirmed(where_to_check=WHERE_TO_CHECK)
        xml = await attempt.document() or b""
        known = await submissions.recent_upload_ids(
            conn, submission.connection_id, since - KNOWN_UPLOADS_LOOKBACK
        )
        try:
            found = await self._find_lost_upload(
                attempt,
                cif=cif,
                since=since,
                token=token,
                ours=fingerprint_document(xml),
                known=known,
            )
        except AnafAuthError:
            fresh = await refresh_refused_token(conn, submission.connection_id, token, self._oauth)
            if fresh is None:
                return outcomes.Unconfirmed(where_to_check=WHERE_TO_CHECK)
            return outcomes.LookAgain(reason="token refreshed", at=utcnow())
        except (AnafTransientError, AnafRefusedError) as exc:
            return _check_again(
                submission,
                f"message list: {exc}",
                endpoint_failed=isinstance(exc, AnafTransientError),
            )
        except HeldBackError as held:  # a later page or a download must wait: keep the calls
            return outcomes.LookAgain(reason=held.reason, at=held.at)
        if found is not None:
            log.info("found the lost upload of %s: index %s", submission.ref.invoice_id, found)
            return outcomes.Uploaded(upload_id=found.upload_id)
        if submission.reconcile_until is not None and utcnow() >= submission.reconcile_until:
            log.warning(
                "ANAF's list has no upload of %s after the reconciliation window; uploading again",
                submission.ref.invoice_id,
            )
            return outcomes.NotFound(
                reason="not in ANAF's message list after the reconciliation window"
            )
        return _check_again(submission, "not in ANAF's message list yet", endpoint_failed=False)

    async def _find_lost_upload(  # noqa: PLR0913 - what the search compares
        self,
        attempt: Attempt,
        *,
        cif: str,
        since: dt.datetime,
        token: str,
        ours: InvoiceFingerprint,
        known: set[str],
    ) -> ListedMessage | None:
        calls = attempt.calls
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
                theirs = await self._fingerprint(attempt, candidate, token)
                if theirs is not None and same_invoice(ours, theirs):
                    return candidate
            if page >= listing.pages:
                return None
            page += 1
            await attempt.may_call(MESSAGE_LIST, self._calls, quota=paged_list_quota(cif))

    async def _fingerprint(
        self, attempt: Attempt, message: ListedMessage, token: str
    ) -> InvoiceFingerprint | None:
        """What an accepted message holds; downloaded once, then remembered."""
        conn, calls = attempt.conn, attempt.calls
        row = await submissions.anaf_fingerprint(conn, message.download_id)
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
        await attempt.may_call(DOWNLOAD, self._calls)
        try:
            content = await counted_if_answered(
                conn, quota, self._anaf.download(message.download_id, token=token, calls=calls)
            )
        except AnafRefusedError as exc:
            log.warning("could not download candidate %s: %s", message.download_id, exc)
            return None
        fingerprint = fingerprint_download(content)
        await submissions.keep_anaf_fingerprint(
            conn,
            download_id=message.download_id,
            upload_id=message.upload_id,
            cif=fingerprint.supplier_cif or message.cif,
            document_sha256=fingerprint.document_sha256,
            invoice_number=fingerprint.invoice_number,
            issue_date=fingerprint.issue_date,
        )
        return fingerprint


def _check_again(
    submission: ClaimedSubmission, reason: str, *, endpoint_failed: bool | None
) -> outcomes.LookAgain:
    """Look again later: sooner at first, at most a minute apart."""
    since = submission.uncertain_since or submission.updated_at
    elapsed = (utcnow() - since).total_seconds()
    pause = dt.timedelta(seconds=min(max(elapsed / 4, 1.0), 60.0))
    return outcomes.LookAgain(reason=reason, at=utcnow() + pause, endpoint_failed=endpoint_failed)


def filer(setup: FilerSetup, anaf: AnafEndpoint) -> AnafFiler:
    return AnafFiler(setup.context.settings, setup.http, anaf)
