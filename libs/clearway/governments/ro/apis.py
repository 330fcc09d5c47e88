"""What every RO part that calls ANAF holds (filing, status, inbox, buyer response): the REST
client, the OAuth client that renews a token ANAF refused, and ANAF's per-minute bucket, which
every replica shares."""

from __future__ import annotations

from typing import NamedTuple

import httpx

from clearway.config import Settings
from clearway.governments.ro.client import AnafClient, calls_bucket
from clearway.governments.ro.oauth import AnafOAuthClient
from clearway.governments.ro.settings import AnafEndpoint
from clearway.resilience.ratelimit import TokenBucket


class AnafApis(NamedTuple):
    rest: AnafClient
    oauth: AnafOAuthClient
    calls: TokenBucket


def anaf_apis(endpoint: AnafEndpoint, http: httpx.AsyncClient, settings: Settings) -> AnafApis:
    """ANAF's clients for `endpoint` (sandbox or live), over `http`."""
    return AnafApis(
        AnafClient(endpoint.rest_url, http),
        AnafOAuthClient(endpoint.oauth_url, endpoint.client_id, endpoint.client_secret, http),
        calls_bucket(endpoint.rest_url, settings.anaf.calls_per_minute),
    )
