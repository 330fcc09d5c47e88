"""The webhook settings: what clearway.config.WebhookConfig (WEBHOOK_* variables) gives, as the
delivery code uses it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from clearway.config import WebhookConfig
from clearway.webhooks.addresses import AddressPolicy
from clearway.webhooks.retry import DISABLE_AFTER, RetryPolicy

RESPONSE_LIMIT_BYTES = 64 * 1024  # of an endpoint's answer, read and then dropped
ROTATION_OVERLAP = dt.timedelta(hours=24)  # the old secret keeps signing this long by default


@dataclass(frozen=True)
class WebhookSettings:
    address_policy: AddressPolicy = field(default_factory=AddressPolicy)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 15.0
    lease_seconds: float = 45.0
    endpoint_concurrency: int = 4
    disable_after: dt.timedelta = DISABLE_AFTER
    max_in_flight: int = 256

    @classmethod
    def from_config(cls, config: WebhookConfig) -> WebhookSettings:
        return cls(
            address_policy=AddressPolicy.from_config(config.allowed_networks),
            retry=RetryPolicy(schedule=config.retry_schedule, jitter=config.retry_jitter),
            timeout_seconds=config.timeout_seconds,
            # Longer than an attempt can take, so a live attempt is never taken up twice.
            lease_seconds=config.lease_seconds
            if config.lease_seconds is not None
            else config.timeout_seconds * 3,
            endpoint_concurrency=config.endpoint_concurrency,
            disable_after=dt.timedelta(seconds=config.disable_after_seconds),
            max_in_flight=config.max_in_flight,
        )
