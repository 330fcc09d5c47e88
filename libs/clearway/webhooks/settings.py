"""The webhook settings, from the environment (every one has a production default).

WEBHOOK_ALLOWED_NETWORKS        networks webhooks may reach besides public addresses
                                ("127.0.0.0/8" in the sandbox); default none
WEBHOOK_RETRY_SCHEDULE          pauses after each failure, seconds, comma-separated
WEBHOOK_RETRY_JITTER            ± fraction of each pause (0.1)
WEBHOOK_TIMEOUT_SECONDS         an attempt succeeds on a 2xx within this (15)
WEBHOOK_LEASE_SECONDS           a claimed delivery not recorded by then is taken up again
WEBHOOK_ENDPOINT_CONCURRENCY    requests in flight to one endpoint, all replicas together (4)
WEBHOOK_DISABLE_AFTER_SECONDS   an endpoint failing this long is disabled (3 days)
WEBHOOK_MAX_IN_FLIGHT           requests in flight per dispatcher process (256)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from clearway.webhooks.addresses import AddressPolicy
from clearway.webhooks.retry import DEFAULT_JITTER, DISABLE_AFTER, RetryPolicy

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
    def from_env(cls, env: Mapping[str, str] | None = None) -> WebhookSettings:
        env = os.environ if env is None else env
        defaults = cls()
        retry = RetryPolicy(
            schedule=tuple(
                float(part) for part in env["WEBHOOK_RETRY_SCHEDULE"].split(",") if part.strip()
            )
            if env.get("WEBHOOK_RETRY_SCHEDULE")
            else defaults.retry.schedule,
            jitter=float(env.get("WEBHOOK_RETRY_JITTER", DEFAULT_JITTER)),
        )
        timeout = float(env.get("WEBHOOK_TIMEOUT_SECONDS", defaults.timeout_seconds))
        return cls(
            address_policy=AddressPolicy.from_config(env.get("WEBHOOK_ALLOWED_NETWORKS", "")),
            retry=retry,
            timeout_seconds=timeout,
            # Longer than an attempt can take, so a live attempt is never taken up twice.
            lease_seconds=float(env.get("WEBHOOK_LEASE_SECONDS", timeout * 3)),
            endpoint_concurrency=int(
                env.get("WEBHOOK_ENDPOINT_CONCURRENCY", defaults.endpoint_concurrency)
            ),
            disable_after=dt.timedelta(
                seconds=float(
                    env.get("WEBHOOK_DISABLE_AFTER_SECONDS", defaults.disable_after.total_seconds())
                )
            ),
            max_in_flight=int(env.get("WEBHOOK_MAX_IN_FLIGHT", defaults.max_in_flight)),
        )
