"""Configuration: every setting of every Clearway process, read from the environment in one place.

Each setting is declared once, below, as a field with the environment variable that sets it
(its validation alias) and a description; `variables()` lists them for documentation and
checks. Nothing here reads the environment at import time: `Settings.from_env()` (or
`Settings()`) reads it when a process starts, and a group a library needs without the rest
(the master keys, the Schematron folder) is read on its own with `<Group>.from_env()`.

Every government has two sets of endpoints: the sandbox set (what sk_test_ invoices and
connections use; the stack points it at the simulators) and the live set (sk_live_). The live
set has no defaults but ANAF's public hosts: a government whose live set is incomplete is not
configured for live mode, and `GovernmentEndpoints.for_mode` says so, naming the variables to
set. It never answers with the sandbox for a live caller.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, NamedTuple, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from clearway.webhooks.retry import DEFAULT_JITTER, DEFAULT_SCHEDULE, DISABLE_AFTER

T = TypeVar("T")
S = TypeVar("S")
M = TypeVar("M", bound=BaseModel)

# ANAF's production hosts, public and documented (../shared/reference/GOVERNMENTS.md §1).
ANAF_LIVE_REST_URL = "https://api.anaf.ro/prod/FCTEL/rest"
ANAF_LIVE_OAUTH_URL = "https://logincert.anaf.ro/anaf-oauth2/v1"


class SettingsError(ValueError):
    """The environment sets something Clearway cannot use; names the variables, never a value
    (a value may be a secret)."""


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


# --- reading the environment ------------------------------------------------------------------


class Variable(NamedTuple):
    """One environment variable Clearway reads: what `variables()` lists."""

    name: str  # the environment variable
    path: str  # where it lands in Settings: "anaf.live_client_id"
    description: str
    default: Any  # None: unset (or, for a derived default, the description says what it is)
    required: bool


def _group_of(info: FieldInfo) -> type[SettingsGroup] | None:
    annotation = info.annotation
    if isinstance(annotation, type) and issubclass(annotation, SettingsGroup):
        return annotation
    return None


def _variable_of(info: FieldInfo) -> str:
    if not isinstance(info.validation_alias, str):
        raise TypeError("every setting names its environment variable as its validation_alias")
    return info.validation_alias


def environment_values(model: type[BaseModel], environ: Mapping[str, str]) -> dict[str, Any]:
    """What `environ` sets of `model`'s fields, nested as the model is, keyed by variable."""
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        group = _group_of(info)
        if group is not None:
            nested = environment_values(group, environ)
            if nested:
                values[name] = nested
            continue
        variable = _variable_of(info)
        if variable in environ:
            values[variable] = environ[variable]
    return values


def _variables(model: type[BaseModel], prefix: str) -> Iterator[Variable]:
    for name, info in model.model_fields.items():
        group = _group_of(info)
        if group is not None:
            yield from _variables(group, f"{prefix}{name}.")
            continue
        required = info.is_required()
        yield Variable(
            name=_variable_of(info),
            path=f"{prefix}{name}",
            description=info.description or "",
            default=None if required else info.get_default(call_default_factory=True),
            required=required,
        )


def variables() -> list[Variable]:
    """Every environment variable Clearway reads, in declaration order (docs, checks)."""
    return list(_variables(Settings, ""))


def variable(model: type[BaseModel], field_name: str) -> str:
    """The environment variable that sets `model.field_name`."""
    return _variable_of(model.model_fields[field_name])


# The environment Settings' own source reads: the process's, unless from_env was given another
# (pydantic-settings runs its sources on every validation, model_validate included).
_environment: ContextVar[Mapping[str, str] | None] = ContextVar("environment", default=None)


def _validate(model: type[M], environ: Mapping[str, str] | None) -> M:
    environ = os.environ if environ is None else environ
    token = _environment.set(environ)
    try:
        return model.model_validate(environment_values(model, environ))
    except ValidationError as exc:
        raise SettingsError(_explain(exc)) from None
    finally:
        _environment.reset(token)


def _explain(error: ValidationError) -> str:
    """The variables at fault and what is wrong with each, without their values."""
    lines = []
    for problem in error.errors(include_input=False, include_url=False):
        named = [part for part in problem["loc"] if isinstance(part, str) and part.isupper()]
        if problem["type"] == "missing" and named:
            lines.append(f"{named[-1]} is not set")
        elif named:
            lines.append(f"{named[-1]}: {problem['msg']}")
        else:
            lines.append(problem["msg"].removeprefix("Value error, "))
    return "Clearway's configuration is invalid: " + "; ".join(lines)


class SettingsGroup(BaseModel):
    """A group of settings (one government's, the webhooks'): fields named for Python, each
    with its environment variable as validation alias."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Self:
        """This group alone, for a library that needs it without the rest of Settings."""
        return _validate(cls, environ)


def _endpoints(
    group: SettingsGroup,
    government: str,
    sandbox: T,
    live_fields: tuple[str, ...],
    build_live: Callable[[Mapping[str, str]], T],
) -> GovernmentEndpoints[T]:
    """Live is configured when every one of `live_fields` is set (an empty value is unset)."""
    values = {name: getattr(group, name) for name in live_fields if getattr(group, name)}
    missing = tuple(variable(type(group), name) for name in live_fields if name not in values)
    live = None if missing else build_live(values)
    return GovernmentEndpoints(government, sandbox, live, missing)


# --- the governments ---------------------------------------------------------------------------
# Live fields: the same systems' production endpoints and Clearway's credentials there. None is
# "not configured": live invoices and connections for that government are refused, never sent
# to the sandbox. Only ANAF's public hosts have defaults.


class AnafSettings(SettingsGroup):
    """ANAF e-Factura (RO)."""

    rest_url: str = Field(
        "http://127.0.0.1:8090/test/FCTEL/rest",
        validation_alias="ANAF_REST_URL",
        description="ANAF e-Factura REST base (…/FCTEL/rest) for sandbox invoices",
    )
    oauth_url: str = Field(
        "http://127.0.0.1:8090/anaf-oauth2/v1",
        validation_alias="ANAF_OAUTH_URL",
        description="ANAF's OAuth base (…/anaf-oauth2/v1) for sandbox connections",
    )
    client_id: str = Field(
        "clearway-sandbox",
        validation_alias="ANAF_CLIENT_ID",
        description="Clearway's OAuth client id at the sandbox ANAF",
    )
    client_secret: str = Field(
        "clearway-sandbox-secret",  # the simulator's public sandbox secret
        validation_alias="ANAF_CLIENT_SECRET",
        description="Clearway's OAuth client secret at the sandbox ANAF",
        repr=False,
    )
    reconcile_window: float = Field(
        1800.0,
        validation_alias="ANAF_RECONCILE_WINDOW",
        description="seconds after a lost upload answer during which ANAF's message list is "
        "searched for it before the invoice is uploaded again (ANAF lists a message once it "
        "has processed it)",
    )
    calls_per_minute: int = Field(
        1000,
        validation_alias="ANAF_CALLS_PER_MINUTE",
        description="ANAF's global call limit, shared by every replica",
    )
    live_rest_url: str | None = Field(
        ANAF_LIVE_REST_URL,
        validation_alias="ANAF_LIVE_REST_URL",
        description="ANAF's production e-Factura REST base, for live invoices",
    )
    live_oauth_url: str | None = Field(
        ANAF_LIVE_OAUTH_URL,
        validation_alias="ANAF_LIVE_OAUTH_URL",
        description="ANAF's production OAuth base, for live connections",
    )
    live_client_id: str | None = Field(
        None,
        validation_alias="ANAF_LIVE_CLIENT_ID",
        description="the client id of Clearway's OAuth application registered with ANAF",
    )
    live_client_secret: str | None = Field(
        None,
        validation_alias="ANAF_LIVE_CLIENT_SECRET",
        description="the client secret of Clearway's OAuth application registered with ANAF",
        repr=False,
    )

    def endpoints(self) -> GovernmentEndpoints[AnafEndpoint]:
        return _endpoints(
            self,
            "ANAF",
            AnafEndpoint(self.rest_url, self.oauth_url, self.client_id, self.client_secret),
            ("live_rest_url", "live_oauth_url", "live_client_id", "live_client_secret"),
            lambda v: AnafEndpoint(
                v["live_rest_url"],
                v["live_oauth_url"],
                v["live_client_id"],
                v["live_client_secret"],
            ),
        )


class KsefSettings(SettingsGroup):
    """KSeF 2.0 (PL)."""

    api_url: str = Field(
        "http://127.0.0.1:8090/v2",
        validation_alias="KSEF_API_URL",
        description="the KSeF 2.0 API base (…/v2) for sandbox invoices",
    )
    live_api_url: str | None = Field(
        None,
        validation_alias="KSEF_LIVE_API_URL",
        description="the KSeF 2.0 API base for live invoices",
    )

    def endpoints(self) -> GovernmentEndpoints[KsefEndpoint]:
        return _endpoints(
            self,
            "KSeF",
            KsefEndpoint(self.api_url),
            ("live_api_url",),
            lambda v: KsefEndpoint(v["live_api_url"]),
        )


class SdiSettings(SettingsGroup):
    """SDI (IT), through its REST façade; the channel's client certificate is the company's."""

    url: str = Field(
        "http://127.0.0.1:8090/sdi",
        validation_alias="SDI_URL",
        description="SDI's endpoint for sandbox invoices",
    )
    live_url: str | None = Field(
        None,
        validation_alias="SDI_LIVE_URL",
        description="SDI's endpoint for Clearway's accredited channel, for live invoices",
    )
    live_ca_file: str | None = Field(
        None,
        validation_alias="SDI_LIVE_CA_FILE",
        description="the CA bundle SDI's live server certificate chains to (unset: the "
        "system's trust store)",
    )

    def endpoints(self) -> GovernmentEndpoints[SdiEndpoint]:
        return _endpoints(
            self,
            "SDI",
            SdiEndpoint(self.url),
            ("live_url",),
            lambda v: SdiEndpoint(v["live_url"], self.live_ca_file or None),
        )


class PeppolSettings(SettingsGroup):
    """The Peppol access point BE and DE B2B invoices go through, and the SMP."""

    ap_url: str = Field(
        "http://127.0.0.1:8090/peppol",
        validation_alias="PEPPOL_AP_URL",
        description="the Peppol access point for sandbox invoices",
    )
    ap_api_key: str = Field(
        "clearway-sandbox-peppol",
        validation_alias="PEPPOL_AP_API_KEY",
        description="Clearway's API key at the sandbox access point",
        repr=False,
    )
    registration_url: str | None = Field(
        None,
        validation_alias="PEPPOL_REGISTRATION_URL",
        description="where sandbox BE/DE participant identifiers are registered in the SMP "
        "(unset: connections only record them)",
    )
    live_ap_url: str | None = Field(
        None,
        validation_alias="PEPPOL_LIVE_AP_URL",
        description="the Peppol access point for live invoices",
    )
    live_ap_api_key: str | None = Field(
        None,
        validation_alias="PEPPOL_LIVE_AP_API_KEY",
        description="Clearway's API key at the live access point",
        repr=False,
    )
    live_registration_url: str | None = Field(
        None,
        validation_alias="PEPPOL_LIVE_REGISTRATION_URL",
        description="where live receivers are registered in the SMP (unset: their "
        "identifiers are only recorded)",
    )

    def endpoints(self) -> GovernmentEndpoints[PeppolEndpoint]:
        return _endpoints(
            self,
            "Peppol",
            PeppolEndpoint(self.ap_url, self.ap_api_key, self.registration_url),
            ("live_ap_url", "live_ap_api_key"),
            lambda v: PeppolEndpoint(
                v["live_ap_url"], v["live_ap_api_key"], self.live_registration_url or None
            ),
        )


class ZreSettings(SettingsGroup):
    """The German B2G receipt platform (ZRE/OZG-RE), for invoices to a Leitweg-ID."""

    url: str = Field(
        "http://127.0.0.1:8090/zre",
        validation_alias="ZRE_URL",
        description="ZRE/OZG-RE for sandbox invoices",
    )
    api_key: str = Field(
        "clearway-sandbox-zre",
        validation_alias="ZRE_API_KEY",
        description="Clearway's API key at the sandbox ZRE",
        repr=False,
    )
    live_url: str | None = Field(
        None, validation_alias="ZRE_LIVE_URL", description="ZRE/OZG-RE for live invoices"
    )
    live_api_key: str | None = Field(
        None,
        validation_alias="ZRE_LIVE_API_KEY",
        description="Clearway's credentials at the live ZRE",
        repr=False,
    )

    def endpoints(self) -> GovernmentEndpoints[KeyedEndpoint]:
        return _endpoints(
            self,
            "ZRE",
            KeyedEndpoint(self.url, self.api_key),
            ("live_url", "live_api_key"),
            lambda v: KeyedEndpoint(v["live_url"], v["live_api_key"]),
        )


class FrPaSettings(SettingsGroup):
    """The French Plateforme Agréée Clearway deposits with."""

    url: str = Field(
        "http://127.0.0.1:8090/pa",
        validation_alias="FR_PA_URL",
        description="the Plateforme Agréée for sandbox invoices",
    )
    api_key: str = Field(
        "clearway-sandbox-pa",
        validation_alias="FR_PA_API_KEY",
        description="Clearway's API key at the sandbox PA",
        repr=False,
    )
    live_url: str | None = Field(
        None,
        validation_alias="FR_PA_LIVE_URL",
        description="the Plateforme Agréée for live invoices",
    )
    live_api_key: str | None = Field(
        None,
        validation_alias="FR_PA_LIVE_API_KEY",
        description="Clearway's API key at the live PA",
        repr=False,
    )

    def endpoints(self) -> GovernmentEndpoints[KeyedEndpoint]:
        return _endpoints(
            self,
            "the French PA",
            KeyedEndpoint(self.url, self.api_key),
            ("live_url", "live_api_key"),
            lambda v: KeyedEndpoint(v["live_url"], v["live_api_key"]),
        )


# --- the rest ----------------------------------------------------------------------------------


class WebhookConfig(SettingsGroup):
    """Webhook delivery (clearway.webhooks.settings.WebhookSettings is built from it)."""

    allowed_networks: str = Field(
        "",
        validation_alias="WEBHOOK_ALLOWED_NETWORKS",
        description='networks webhooks may reach besides public addresses ("127.0.0.0/8" in '
        "the sandbox), comma- or space-separated",
    )
    retry_schedule: tuple[float, ...] = Field(
        DEFAULT_SCHEDULE,
        validation_alias="WEBHOOK_RETRY_SCHEDULE",
        description="pauses after each failed attempt, seconds, comma-separated",
    )
    retry_jitter: float = Field(
        DEFAULT_JITTER,
        validation_alias="WEBHOOK_RETRY_JITTER",
        description="± fraction of each pause",
    )
    timeout_seconds: float = Field(
        15.0,
        validation_alias="WEBHOOK_TIMEOUT_SECONDS",
        description="an attempt succeeds on a 2xx answer within this many seconds",
    )
    lease_seconds: float | None = Field(
        None,
        validation_alias="WEBHOOK_LEASE_SECONDS",
        description="seconds after which a claimed delivery not yet recorded is taken up "
        "again (unset: three times WEBHOOK_TIMEOUT_SECONDS)",
    )
    endpoint_concurrency: int = Field(
        4,
        validation_alias="WEBHOOK_ENDPOINT_CONCURRENCY",
        description="requests in flight to one endpoint, all replicas together",
    )
    disable_after_seconds: float = Field(
        DISABLE_AFTER.total_seconds(),
        validation_alias="WEBHOOK_DISABLE_AFTER_SECONDS",
        description="an endpoint failing for this many seconds is disabled",
    )
    max_in_flight: int = Field(
        256,
        validation_alias="WEBHOOK_MAX_IN_FLIGHT",
        description="requests in flight per dispatcher process",
    )

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # The variable is "5,300,1800"; empty is the default schedule.
        if isinstance(value, str):
            parts = [part for part in value.split(",") if part.strip()]
            return tuple(parts) if parts else DEFAULT_SCHEDULE
        return value


class SecuritySettings(SettingsGroup):
    master_keys: str = Field(
        "",
        validation_alias="CLEARWAY_MASTER_KEYS",
        description="the master keys that seal stored secrets, id=base64 separated by "
        "commas, the first one current (`clearway admin new-master-key` makes one)",
        repr=False,
    )


class ConformanceSettings(SettingsGroup):
    schematron_dir: Path | None = Field(
        None,
        validation_alias="CLEARWAY_SCHEMATRON_DIR",
        description="the project's own Schematron folder (unset: the repository's "
        "schematron/; an installed, non-editable package is told where it is)",
    )

    @field_validator("schematron_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return value or None


class _Environment(PydanticBaseSettingsSource):
    """The process environment, each variable exactly as its field names it."""

    def get_field_value(
        self,
        field: FieldInfo,  # noqa: ARG002 - __call__ reads every field
        field_name: str,
    ) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads every field at once

    def __call__(self) -> dict[str, Any]:
        environ = _environment.get()
        return environment_values(self.settings_cls, os.environ if environ is None else environ)


class Settings(BaseSettings):
    """Everything a Clearway process is configured with (DATABASE_URL and KAFKA_BOOTSTRAP are
    required; every other setting has a default)."""

    model_config = SettingsConfigDict(frozen=True, populate_by_name=True, extra="forbid")

    database_url: str = Field(
        validation_alias="DATABASE_URL", description="the PostgreSQL Clearway stores in"
    )
    kafka_bootstrap: str = Field(
        validation_alias="KAFKA_BOOTSTRAP", description="the Kafka bootstrap servers"
    )
    poll_interval_initial: float = Field(
        1.0,
        validation_alias="POLL_INTERVAL_INITIAL",
        description="seconds before the poller first asks a government about a submitted "
        "invoice (doubling to POLL_INTERVAL_MAX)",
    )
    poll_interval_max: float = Field(
        60.0,
        validation_alias="POLL_INTERVAL_MAX",
        description="the longest pause between two status checks of one invoice, seconds",
    )
    poll_deadline_hours: float = Field(
        72.0,
        validation_alias="POLL_DEADLINE_HOURS",
        description="the poller gives up on a government decision after this many hours: "
        "the invoice goes to `error`",
    )
    api_rate_limit_per_second: float = Field(
        100.0,
        validation_alias="API_RATE_LIMIT_PER_SECOND",
        description="requests per second per API key (token bucket, burst twice that); an "
        "account may override it",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8080",
        validation_alias="PUBLIC_BASE_URL",
        description="Clearway's own address as a user's browser reaches it: ANAF redirects "
        "to {PUBLIC_BASE_URL}/v1/callbacks/anaf after the user authorized Clearway",
    )
    token_refresh_interval: float = Field(
        2.0,
        validation_alias="TOKEN_REFRESH_INTERVAL",
        description="how often an idle token-refresher looks for connections due, seconds",
    )
    submit_retry_base: float = Field(
        2.0,
        validation_alias="SUBMIT_RETRY_BASE",
        description="submitters: the first pause after a failed upload, seconds (doubling "
        "with jitter to SUBMIT_RETRY_CAP)",
    )
    submit_retry_cap: float = Field(
        600.0,
        validation_alias="SUBMIT_RETRY_CAP",
        description="submitters: the longest pause between two uploads, seconds",
    )
    submit_max_attempts: int = Field(
        10,
        validation_alias="SUBMIT_MAX_ATTEMPTS",
        description="submitters: uploads before the invoice goes to `error`",
    )
    work_lease_seconds: float = Field(
        90.0,
        validation_alias="WORK_LEASE_SECONDS",
        description="how long a submitter or poller replica holds a claimed row: if it dies, "
        "another takes the row up after this (government calls time out within a third "
        "of it, at most 30 s)",
    )
    breaker_reset_seconds: float = Field(
        30.0,
        validation_alias="BREAKER_RESET_SECONDS",
        description="how long a submitter's circuit breaker stays open before one probe "
        "call goes out, seconds",
    )
    redrive_stalled_after: float = Field(
        60.0,
        gt=0,
        validation_alias="REDRIVE_STALLED_AFTER",
        description="seconds an invoice may sit in created/validated/submitted before the "
        "redriver sends it on again",
    )
    http_host: str = Field(
        "127.0.0.1",
        validation_alias="CLEARWAY_HTTP_HOST",
        description="the host a worker's own HTTP endpoint (/metrics, /healthz, /readyz) "
        "listens on",
    )
    http_port: int = Field(
        0,
        validation_alias="CLEARWAY_HTTP_PORT",
        description="the port of a worker's own HTTP endpoint (0: any free port, logged)",
    )
    # docs/operations.md sizes a server by the pool settings.
    database_pool_min: int = Field(
        1,
        ge=0,
        validation_alias="DATABASE_POOL_MIN",
        description="connections the process keeps open while idle",
    )
    database_pool_max: int = Field(
        10,
        ge=1,
        validation_alias="DATABASE_POOL_MAX",
        description="connections it may open under load",
    )
    database_pool_idle_seconds: float = Field(
        60.0,
        gt=0,
        validation_alias="DATABASE_POOL_IDLE_SECONDS",
        description="how long a connection above the minimum stays open unused",
    )
    # Behind PgBouncer in transaction mode a server connection is not this client's across
    # transactions, so asyncpg's named prepared statements must be off.
    database_statement_cache_size: int = Field(
        100,
        ge=0,
        validation_alias="DATABASE_STATEMENT_CACHE_SIZE",
        description="asyncpg's prepared statements per connection; `0` behind PgBouncer in "
        "transaction mode",
    )
    anaf: AnafSettings = Field(default_factory=AnafSettings, description="ANAF e-Factura (RO)")
    ksef: KsefSettings = Field(default_factory=KsefSettings, description="KSeF (PL)")
    sdi: SdiSettings = Field(default_factory=SdiSettings, description="SDI (IT)")
    peppol: PeppolSettings = Field(default_factory=PeppolSettings, description="Peppol (BE, DE)")
    zre: ZreSettings = Field(default_factory=ZreSettings, description="ZRE/OZG-RE (DE B2G)")
    fr_pa: FrPaSettings = Field(default_factory=FrPaSettings, description="the French PA (FR)")
    webhooks: WebhookConfig = Field(default_factory=WebhookConfig, description="webhooks")
    security: SecuritySettings = Field(default_factory=SecuritySettings, description="keys")
    conformance: ConformanceSettings = Field(
        default_factory=ConformanceSettings, description="the conformance gate's artefacts"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - replaced
        dotenv_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - replaced
        file_secret_settings: PydanticBaseSettingsSource,  # noqa: ARG003 - replaced
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Each variable by its exact name, nested groups included (pydantic-settings' own
        # source would want ANAF__REST_URL); no .env file, no secrets directory.
        return (init_settings, _Environment(settings_cls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """The settings `environ` (the process environment by default) gives; SettingsError
        names each variable at fault."""
        return _validate(cls, environ)

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
            anaf=self.anaf.endpoints(),
            ksef=self.ksef.endpoints(),
            sdi=self.sdi.endpoints(),
            peppol=self.peppol.endpoints(),
            zre=self.zre.endpoints(),
            fr_pa=self.fr_pa.endpoints(),
        )
