"""The Clearway API from Python: `Clearway` (blocking) and `AsyncClearway` (asyncio), typed
models, typed errors, safe retries, webhook verification (docs/client.md)."""

from clearway_client._client import AsyncClearway, Clearway
from clearway_client._core import RetryPolicy
from clearway_client._operations import NOT_GIVEN
from clearway_client.errors import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ClearwayError,
    ConflictError,
    FieldError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    ServiceUnavailableError,
    UsageLimitError,
    ValidationError,
    WaitTimeoutError,
    WebhookVerificationError,
)

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "AsyncClearway",
    "AuthenticationError",
    "Clearway",
    "ClearwayError",
    "ConflictError",
    "FieldError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "RetryPolicy",
    "ServiceUnavailableError",
    "UsageLimitError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookVerificationError",
]
