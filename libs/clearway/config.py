"""Configuration read once from the environment; every service takes what it needs from here.

Every government has two sets of endpoints: the sandbox set (what sk_test_ invoices and
connections use; the stack points it at the simulators) and the live set (sk_live_). The live
set has no defaults but ANAF's public hosts: a government whose live set is incomplete is not
configured for live mode, and `GovernmentEndpoints.for_mode` says so, naming the variables to
set. It never answers with the sandbox for a live caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

T = TypeVar("T")
S = TypeVar("S")

# ANAF's production hosts, public and documented (../shared/reference/GOVERNMENTS.md §1).
ANAF_LIVE_REST_URL = "https://api.anaf.ro/prod/FCTEL/rest"
ANAF_LIVE_OAUTH_URL = "https://logincert.anaf.ro/anaf-oauth2/v1"


class LiveNotConfiguredError(Exception):
    """A live invoice or connection for a government with no live endpoint configured here.

    Names the variables only, never a value: it ends up in API answers and invoice errors."""

    def __init__(self, government: str, missing: tuple[str, ...]) -> None:
        self.government = government
        self.missing = missing
        super().__init__(
            f"Live filing with {government} is not configured on this Clearway deployment: "
            f"its operator must set {', '.join(missing)}."
        )


@dataclass(frozen=True)
class AnafEndpoint:
    rest_url: str
    oauth_url: str
    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class KsefEndpoint:
    api_url: str


@dataclass(frozen=True)
class SdiEndpoint:
    url: str
    # The CA bundle SDI's server certificate chains to (None: the system's trust store); the
    # client certificate is the channel's, from the company's IT connection.
    ca_file: str | None = None


@dataclass(frozen=True)
class PeppolEndpoint:
    ap_url: str
    ap_api_key: str = field(repr=False)
    # Where receivers are registered in the SMP; None: their identifiers are only recorded.
    registration_url: str | None = None


@dataclass(frozen=True)
class KeyedEndpoint:
    """A platform Clearway calls with its own API key (ZRE/OZG-RE, a French PA)."""

    url: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class GovernmentEndpoints(Generic[T]):
    """One government's sandbox and live endpoints: the one place a mode picks between them."""

    government: str
    sandbox: T
    live: T | None
    live_missing: tuple[str, ...] = ()  # the variables a live deployment has yet to set

    def for_mode(self, livemode: bool) -> T:  # noqa: FBT001 - the invoice's own flag
        """The endpoint for a sandbox (False) or live (True) invoice or connection; a live one
        that is not configured raises LiveNotConfiguredError, never the sandbox."""
        if not livemode:
            return self.sandbox
        if self.live is None:
            raise LiveNotConfiguredError(self.government, self.live_missing)
        return self.live


def live_or_error(
    endpoints: GovernmentEndpoints[T], make: Callable[[T], S]
) -> S | LiveNotConfiguredError:
    """What `make` builds once from the live endpoint (a client, a submitter), or why there is
    none: callers hold one per mode and answer a live caller with the error."""
    try:
        return make(endpoints.for_mode(True))  # noqa: FBT003 - live
    except LiveNotConfiguredError as exc:
        return exc


@dataclass(frozen=True)
class Governments:
    anaf: GovernmentEndpoints[AnafEndpoint]
    ksef: GovernmentEndpoints[KsefEndpoint]
    sdi: GovernmentEndpoints[SdiEndpoint]
    peppol: GovernmentEndpoints[PeppolEndpoint]
    zre: GovernmentEndpoints[KeyedEndpoint]
    fr_pa: GovernmentEndpoints[KeyedEndpoint]

    def for_connections(self, country: str) -> GovernmentEndpoints[Any]:
        """The system a country's connections are made with (DE's is Peppol: its ZRE
        invoices are checked one by one when they are submitted)."""
        systems: dict[str, GovernmentEndpoints[Any]] = {
            "RO": self.anaf,
            "PL": self.ksef,
            "IT": self.sdi,
            "BE": self.peppol,
            "DE": self.peppol,
            "FR": self.fr_pa,
        }
        return systems[country]


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True)

    database_url: str
    kafka_bootstrap: str
    # ANAF e-Factura REST base (…/FCTEL/rest) and OAuth base (…/anaf-oauth2/v1): the sandbox
    # points both at the simulator; live keys point them at ANAF.
    anaf_rest_url: str = "http://127.0.0.1:8090/test/FCTEL/rest"
    anaf_oauth_url: str = "http://127.0.0.1:8090/anaf-oauth2/v1"
    anaf_client_id: str = "clearway-sandbox"
    anaf_client_secret: str = "clearway-sandbox-secret"  # noqa: S105 - the simulator's public sandbox secret
    # How often the poller asks ANAF about a submitted invoice (seconds, doubling to the cap).
    poll_interval_initial: float = 1.0
    poll_interval_max: float = 60.0
    # Requests per second per API key (token bucket, burst twice that); an account may override.
    api_rate_limit_per_second: float = 100.0
    # Clearway's own address as a user's browser reaches it: ANAF redirects to
    # {public_base_url}/v1/callbacks/anaf after the user authorized Clearway.
    public_base_url: str = "http://127.0.0.1:8080"
    # KSeF 2.0 API base (…/v2): the sandbox points it at the simulator.
    ksef_api_url: str = "http://127.0.0.1:8090/v2"
    # Where BE/DE participant identifiers are registered (the sandbox: the simulator's SMP
    # registration); unset, connections only record them.
    peppol_registration_url: str | None = None
    # How often an idle token-refresher looks for connections due (seconds).
    token_refresh_interval: float = 2.0
    # Submitters: retries of a failed upload (seconds, doubling with jitter to the cap), and
    # how many uploads before the invoice goes to `error`.
    submit_retry_base: float = 2.0
    submit_retry_cap: float = 600.0
    submit_max_attempts: int = 10
    # How long after a lost upload answer ANAF's message list is searched for it before the
    # invoice is uploaded again (ANAF lists a message once it has processed it).
    anaf_reconcile_window: float = 1800.0
    # ANAF's global limit, shared by every replica (the benchmark lifts it with the simulator's).
    anaf_calls_per_minute: int = 1000
    # The poller gives up on a government decision after this long: the invoice goes to `error`.
    poll_deadline_hours: float = 72.0
    # The French Plateforme Agréée Clearway deposits with (the sandbox: the simulator's), and
    # Clearway's API key there.
    fr_pa_url: str = "http://127.0.0.1:8090/pa"
    fr_pa_api_key: str = "clearway-sandbox-pa"
    # The Peppol access point Clearway sends BE and DE B2B invoices through (the sandbox: the
    # simulator's), and Clearway's API key there; the German B2G receipt platform (ZRE/OZG-RE)
    # and Clearway's key there.
    peppol_ap_url: str = "http://127.0.0.1:8090/peppol"
    peppol_ap_api_key: str = "clearway-sandbox-peppol"
    zre_url: str = "http://127.0.0.1:8090/zre"
    zre_api_key: str = "clearway-sandbox-zre"
    # Italy's SDI (its REST façade; the sandbox points it at the simulator). The channel's
    # client certificate comes from the company's IT connection.
    sdi_url: str = "http://127.0.0.1:8090/sdi"
    # Live mode (sk_live_): the same systems' production endpoints and Clearway's credentials
    # there. None is "not configured": live invoices and connections for that government are
    # refused, never sent to the sandbox. Only ANAF's public hosts have defaults.
    anaf_live_rest_url: str | None = ANAF_LIVE_REST_URL
    anaf_live_oauth_url: str | None = ANAF_LIVE_OAUTH_URL
    anaf_live_client_id: str | None = None
    anaf_live_client_secret: str | None = Field(default=None, repr=False)
    ksef_live_api_url: str | None = None
    sdi_live_url: str | None = None
    sdi_live_ca_file: str | None = None
    peppol_live_ap_url: str | None = None
    peppol_live_ap_api_key: str | None = Field(default=None, repr=False)
    peppol_live_registration_url: str | None = None
    zre_live_url: str | None = None
    zre_live_api_key: str | None = Field(default=None, repr=False)
    fr_pa_live_url: str | None = None
    fr_pa_live_api_key: str | None = Field(default=None, repr=False)
    # How long a submitter or poller replica holds a claimed row: if it dies, another takes the
    # row up after this. Calls to governments time out well within it (a third of it, ≤ 30 s).
    work_lease_seconds: float = 90.0
    # How long a submitter's circuit breaker stays open before one probe call goes out.
    breaker_reset_seconds: float = 30.0
    # A worker's own HTTP endpoint: /metrics, /healthz, /readyz (0: any free port, logged).
    http_host: str = "127.0.0.1"
    http_port: int = 0
    # This process's PostgreSQL pool: the connections it holds while idle, at most, and how
    # long one above the minimum stays open unused; docs/operations.md sizes a server by them.
    # Behind PgBouncer in transaction mode, a statement cache of 0 turns asyncpg's named
    # prepared statements off (a server connection is not this client's across transactions).
    database_pool_min: int = Field(default=1, ge=0)
    database_pool_max: int = Field(default=10, ge=1)
    database_pool_idle_seconds: float = Field(default=60.0, gt=0)
    database_statement_cache_size: int = Field(default=100, ge=0)

    @model_validator(mode="after")
    def _pool_min_within_max(self) -> Settings:
        if self.database_pool_min > self.database_pool_max:
            raise ValueError(
                f"DATABASE_POOL_MIN ({self.database_pool_min}) exceeds "
                f"DATABASE_POOL_MAX ({self.database_pool_max})"
            )
        return self

    def pool_options(self) -> dict[str, Any]:
        """The keyword arguments of clearway.db.create_pool for this process."""
        return {
            "min_size": self.database_pool_min,
            "max_size": self.database_pool_max,
            "idle_seconds": self.database_pool_idle_seconds,
            "statement_cache_size": self.database_statement_cache_size,
        }

    @property
    def government_call_timeout(self) -> float:
        return min(30.0, self.work_lease_seconds / 3)

    def governments(self) -> Governments:
        """Every government's sandbox and live endpoints (pure: read from these settings)."""
        return Governments(
            anaf=self._endpoints(
                "ANAF",
                AnafEndpoint(
                    self.anaf_rest_url,
                    self.anaf_oauth_url,
                    self.anaf_client_id,
                    self.anaf_client_secret,
                ),
                (
                    "anaf_live_rest_url",
                    "anaf_live_oauth_url",
                    "anaf_live_client_id",
                    "anaf_live_client_secret",
                ),
                lambda v: AnafEndpoint(
                    v["anaf_live_rest_url"],
                    v["anaf_live_oauth_url"],
                    v["anaf_live_client_id"],
                    v["anaf_live_client_secret"],
                ),
            ),
            ksef=self._endpoints(
                "KSeF",
                KsefEndpoint(self.ksef_api_url),
                ("ksef_live_api_url",),
                lambda v: KsefEndpoint(v["ksef_live_api_url"]),
            ),
            sdi=self._endpoints(
                "SDI",
                SdiEndpoint(self.sdi_url),
                ("sdi_live_url",),
                lambda v: SdiEndpoint(v["sdi_live_url"], self.sdi_live_ca_file or None),
            ),
            peppol=self._endpoints(
                "Peppol",
                PeppolEndpoint(
                    self.peppol_ap_url, self.peppol_ap_api_key, self.peppol_registration_url
                ),
                ("peppol_live_ap_url", "peppol_live_ap_api_key"),
                lambda v: PeppolEndpoint(
                    v["peppol_live_ap_url"],
                    v["peppol_live_ap_api_key"],
                    self.peppol_live_registration_url or None,
                ),
            ),
            zre=self._endpoints(
                "ZRE",
                KeyedEndpoint(self.zre_url, self.zre_api_key),
                ("zre_live_url", "zre_live_api_key"),
                lambda v: KeyedEndpoint(v["zre_live_url"], v["zre_live_api_key"]),
            ),
            fr_pa=self._endpoints(
                "the French PA",
                KeyedEndpoint(self.fr_pa_url, self.fr_pa_api_key),
                ("fr_pa_live_url", "fr_pa_live_api_key"),
                lambda v: KeyedEndpoint(v["fr_pa_live_url"], v["fr_pa_live_api_key"]),
            ),
        )

    def _endpoints(
        self,
        government: str,
        sandbox: T,
        live_fields: tuple[str, ...],
        build_live: Callable[[Mapping[str, str]], T],
    ) -> GovernmentEndpoints[T]:
        """Live is configured when every one of `live_fields` is set (an empty value is unset)."""
        values: dict[str, str] = {}
        for name in live_fields:
            value = getattr(self, name)
            if value:
                values[name] = value
        missing = tuple(ENVIRONMENT[name] for name in live_fields if name not in values)
        live = None if missing else build_live(values)
        return GovernmentEndpoints(government, sandbox, live, missing)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        values: dict[str, str] = {
            "database_url": env["DATABASE_URL"],
            "kafka_bootstrap": env["KAFKA_BOOTSTRAP"],
        }
        for field_name, var in ENVIRONMENT.items():
            if var in env:
                values[field_name] = env[var]
        return cls.model_validate(values)


# Settings field -> the environment variable that sets it (DATABASE_URL and KAFKA_BOOTSTRAP are
# required; every other has a default).
ENVIRONMENT = {
    "anaf_rest_url": "ANAF_REST_URL",
    "anaf_oauth_url": "ANAF_OAUTH_URL",
    "anaf_client_id": "ANAF_CLIENT_ID",
    "anaf_client_secret": "ANAF_CLIENT_SECRET",
    "poll_interval_initial": "POLL_INTERVAL_INITIAL",
    "poll_interval_max": "POLL_INTERVAL_MAX",
    "api_rate_limit_per_second": "API_RATE_LIMIT_PER_SECOND",
    "public_base_url": "PUBLIC_BASE_URL",
    "ksef_api_url": "KSEF_API_URL",
    "peppol_registration_url": "PEPPOL_REGISTRATION_URL",
    "token_refresh_interval": "TOKEN_REFRESH_INTERVAL",
    "breaker_reset_seconds": "BREAKER_RESET_SECONDS",
    "http_host": "CLEARWAY_HTTP_HOST",
    "http_port": "CLEARWAY_HTTP_PORT",
    "database_pool_min": "DATABASE_POOL_MIN",
    "database_pool_max": "DATABASE_POOL_MAX",
    "database_pool_idle_seconds": "DATABASE_POOL_IDLE_SECONDS",
    "database_statement_cache_size": "DATABASE_STATEMENT_CACHE_SIZE",
    "submit_retry_base": "SUBMIT_RETRY_BASE",
    "submit_retry_cap": "SUBMIT_RETRY_CAP",
    "submit_max_attempts": "SUBMIT_MAX_ATTEMPTS",
    "anaf_reconcile_window": "ANAF_RECONCILE_WINDOW",
    "anaf_calls_per_minute": "ANAF_CALLS_PER_MINUTE",
    "poll_deadline_hours": "POLL_DEADLINE_HOURS",
    "work_lease_seconds": "WORK_LEASE_SECONDS",
    "fr_pa_url": "FR_PA_URL",
    "fr_pa_api_key": "FR_PA_API_KEY",
    "peppol_ap_url": "PEPPOL_AP_URL",
    "peppol_ap_api_key": "PEPPOL_AP_API_KEY",
    "zre_url": "ZRE_URL",
    "zre_api_key": "ZRE_API_KEY",
    "sdi_url": "SDI_URL",
    "anaf_live_rest_url": "ANAF_LIVE_REST_URL",
    "anaf_live_oauth_url": "ANAF_LIVE_OAUTH_URL",
    "anaf_live_client_id": "ANAF_LIVE_CLIENT_ID",
    "anaf_live_client_secret": "ANAF_LIVE_CLIENT_SECRET",
    "ksef_live_api_url": "KSEF_LIVE_API_URL",
    "sdi_live_url": "SDI_LIVE_URL",
    "sdi_live_ca_file": "SDI_LIVE_CA_FILE",
    "peppol_live_ap_url": "PEPPOL_LIVE_AP_URL",
    "peppol_live_ap_api_key": "PEPPOL_LIVE_AP_API_KEY",
    "peppol_live_registration_url": "PEPPOL_LIVE_REGISTRATION_URL",
    "zre_live_url": "ZRE_LIVE_URL",
    "zre_live_api_key": "ZRE_LIVE_API_KEY",
    "fr_pa_live_url": "FR_PA_LIVE_URL",
    "fr_pa_live_api_key": "FR_PA_LIVE_API_KEY",
}
