"""What the network channels (the Peppol access point, the German B2G platform) share: how
their failures are sorted, and what a filing there comes to.

Both take a document with a reference Clearway chose (deterministic per invoice) and can list
what they received by that reference: a send whose answer was lost is looked for by it, never
sent blind a second time.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pydantic import BaseModel, ConfigDict

from clearway.connectors.calls import Failures


class FilingError(Exception):
    """Base of what the channel clients raise."""


class FilingTransientError(FilingError):
    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FilingUnavailableError(FilingTransientError):
    """The channel took nothing (refused connection, 429, 500, 503)."""


class FilingOutcomeUnknownError(FilingTransientError):
    """The send left and its answer was lost: the channel may have it."""


class FilingAuthError(FilingError):
    """The channel refused Clearway's API key (its own credential, not the company's)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class FilingRefusedError(FilingError):
    """The channel refused the document in its own words: nothing was filed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def filing_failures(
    government: str, country: str, refusal_text: Callable[[httpx.Response], str]
) -> Failures:
    return Failures(
        government=government,
        country=country,
        unavailable=FilingUnavailableError,
        outcome_unknown=FilingOutcomeUnknownError,
        auth=FilingAuthError,
        refused=FilingRefusedError,
        refusal_text=refusal_text,
    )


def error_messages(response: httpx.Response) -> str:
    """`{"errors": [{"code"?, "message"}]}` (both simulated APIs' shape) as one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return str(body)[:500]
    return "; ".join(
        f"{e['code']}: {e.get('message', '')}" if e.get("code") else str(e.get("message", ""))
        for e in errors
        if isinstance(e, dict)
    )


class Filed(BaseModel):
    """A document the channel has: its id there, and the status it gave."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    status: str
