"""Connections between a company and a country's government system: statuses, events, setup
methods, when tokens are refreshed, and the network identifiers of a company. What each country
uses is its Government's (clearway.governments). Pure: no I/O.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from enum import StrEnum

from clearway.governments import GOVERNMENTS


class ConnectionStatus(StrEnum):
    PENDING_SETUP = "pending_setup"
    ACTIVE = "active"
    EXPIRED = "expired"
    ERROR = "error"
    DELETED = "deleted"  # never shown: a deleted connection answers 404


class ConnectionEvent(StrEnum):
    ACTIVE = "connection.active"
    EXPIRED = "connection.expired"
    REFRESHED = "connection.refreshed"


class SecretKind(StrEnum):
    ACCESS_TOKEN = "access_token"  # noqa: S105 - names of secrets, not secrets
    REFRESH_TOKEN = "refresh_token"  # noqa: S105
    KSEF_TOKEN = "ksef_token"  # noqa: S105 - the KSeF token a PL company generated in the portal
    CERTIFICATE = "certificate"
    PRIVATE_KEY = "private_key"


class SetupMethod(StrEnum):
    OAUTH = "oauth"  # RO: ANAF's OAuth code flow, then refresh tokens
    CERTIFICATE = "certificate"  # IT: an accredited SDI channel's certificate
    KSEF_TOKEN = "ksef_token"  # noqa: S105 - PL: a KSeF token, then KSeF's challenge flow
    NETWORK = "network"  # BE, DE, FR: a participant identifier on the network


@dataclass(frozen=True)
class TokenPolicy:
    """A government's token lifetimes, for when it does not state them, and when to refresh:
    at a random point of `refresh_window` (fractions of the access token's remaining life), so
    that connections made together do not all refresh in the same second."""

    access_lifetime: dt.timedelta
    refresh_lifetime: dt.timedelta
    refresh_window: tuple[float, float] = (0.70, 0.80)
    # A refresh token that cannot itself be renewed (KSeF) is replaced by authenticating again
    # this long before it dies; None when refreshing also renews it (ANAF).
    reauthenticate_before: dt.timedelta | None = None


# A refresh that failed for a passing reason (government down, 5xx, timeout) is tried again
# after this, doubling, up to the cap; a refusal expires the connection at once.
RETRY_FIRST = dt.timedelta(minutes=1)
RETRY_CAP = dt.timedelta(hours=1)


def next_refresh_at(
    policy: TokenPolicy,
    *,
    now: dt.datetime,
    access_expires_at: dt.datetime,
    refresh_expires_at: dt.datetime | None,
    rng: random.Random,
) -> dt.datetime:
    """When to refresh next: a jittered point before the access token expires, and early
    enough to authenticate again before a non-renewable refresh token dies."""
    low, high = policy.refresh_window
    remaining = max(access_expires_at - now, dt.timedelta(0))
    planned = now + remaining * rng.uniform(low, high)
    if refresh_expires_at is not None:
        margin = policy.reauthenticate_before or dt.timedelta(0)
        planned = min(planned, max(now, refresh_expires_at - margin))
    return planned


def needs_reauthentication(
    policy: TokenPolicy, *, now: dt.datetime, refresh_expires_at: dt.datetime | None
) -> bool:
    if policy.reauthenticate_before is None or refresh_expires_at is None:
        return False
    return refresh_expires_at - now <= policy.reauthenticate_before


def retry_delay(failures: int, rng: random.Random) -> dt.timedelta:
    """After `failures` passing failures in a row (1 = the first), ±20% jitter."""
    doublings = min(max(failures - 1, 0), 16)  # bounded: the cap is reached long before
    base = min(RETRY_FIRST * (1 << doublings), RETRY_CAP)
    return base * rng.uniform(0.8, 1.2)


@dataclass(frozen=True)
class NetworkCredentials:
    """A company's participant identifier: `scheme` is the ISO 6523 ICD (0208 Belgian enterprise
    number, 9930 German VAT number, 0002 French SIREN), `identifier` the value under it."""

    scheme: str
    identifier: str

    @property
    def participant_id(self) -> str:
        return f"{self.scheme}:{self.identifier}"


class MissingIdentifierError(ValueError):
    """The company lacks the identifier the country's network needs; the message says which."""


PEPPOL_SCHEME_GERMAN_VAT = "9930"
FRENCH_SCHEME_SIREN = "0002"


def declared_peppol_id(peppol_id: str | None) -> NetworkCredentials | None:
    """A peppolId the company gave (`<ICD>:<identifier>`), else None."""
    scheme, separator, identifier = (peppol_id or "").strip().partition(":")
    if separator and scheme.isdigit() and len(scheme) == 4 and identifier:  # ICDs are 4 digits
        return NetworkCredentials(scheme=scheme, identifier=identifier)
    return None


def network_credentials_for(
    country: str, *, vat_number: str, peppol_id: str | None = None, siret: str | None = None
) -> NetworkCredentials | None:
    """The identifier under which a company is registered on the country's network; None for
    countries without one (RO, IT, PL). Raises MissingIdentifierError when none can be derived."""
    found = GOVERNMENTS.get(country)
    if found is None:
        return None
    return found.network_credentials(vat_number=vat_number, peppol_id=peppol_id, siret=siret)


def token_policy_of(country: str) -> TokenPolicy | None:
    """The country's token policy; None for a country without tokens to refresh."""
    found = GOVERNMENTS.get(country)
    return found.token_policy if found is not None else None


def system_of(country: str) -> str:
    """The system a connection of the country is made with: "ANAF", "Peppol"..."""
    found = GOVERNMENTS.get(country)
    return found.system if found is not None else "government"
