"""Settings: everything a Clearway process is configured with, as one composite of the groups.

Each setting is declared once, in its group (a government's in its folder's settings.py, the
rest below), as a field with a description and the environment variable that sets it;
`variables()` lists them for documentation and checks.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasGenerator, Field, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from clearway.config.endpoints import GovernmentEndpoints, KeyedEndpoint
from clearway.config.environment import (
    SettingsGroup,
    Variable,
    current_environment,
    environment_values,
    model_variables,
    validate_environment,
    variable_prefix,
)
from clearway.governments.de.settings import ZreSettings
from clearway.governments.fr.settings import FrPaSettings
from clearway.governments.it.settings import SdiEndpoint, SdiSettings
from clearway.governments.peppol.settings import PeppolEndpoint, PeppolSettings
from clearway.governments.pl.settings import KsefEndpoint, KsefSettings
from clearway.governments.ro.settings import AnafEndpoint, AnafSettings
from clearway.webhooks.retry import DEFAULT_JITTER, DEFAULT_SCHEDULE, DISABLE_AFTER


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


# --- the rest ----------------------------------------------------------------------------------


class WebhookConfig(SettingsGroup):
    """Webhook delivery (clearway.webhooks.settings.WebhookSettings is built from it)."""

    model_config = variable_prefix("WEBHOOK_")

    allowed_networks: str = Field(
        "",
        description='networks webhooks may reach besides public addresses ("127.0.0.0/8" in '
        "the sandbox), comma- or space-separated",
    )
    retry_schedule: tuple[float, ...] = Field(
        DEFAULT_SCHEDULE, description="pauses after each failed attempt, seconds, comma-separated"
    )
    retry_jitter: float = Field(DEFAULT_JITTER, description="± fraction of each pause")
    timeout_seconds: float = Field(
        15.0, description="an attempt succeeds on a 2xx answer within this many seconds"
    )
    lease_seconds: float | None = Field(
        None,
        description="seconds after which a claimed delivery not yet recorded is taken up "
        "again (unset: three times WEBHOOK_TIMEOUT_SECONDS)",
    )
    endpoint_concurrency: int = Field(
        4, description="requests in flight to one endpoint, all replicas together"
    )
    disable_after_seconds: float = Field(
        DISABLE_AFTER.total_seconds(),
        description="an endpoint failing for this many seconds is disabled",
    )
    max_in_flight: int = Field(256, description="requests in flight per dispatcher process")

    @field_validator("retry_schedule", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        # The variable is "5,300,1800"; empty is the default schedule.
        if isinstance(value, str):
            parts = [part for part in value.split(",") if part.strip()]
            return tuple(parts) if parts else DEFAULT_SCHEDULE
        return value


class SecuritySettings(SettingsGroup):
    model_config = variable_prefix("CLEARWAY_")

    master_keys: str = Field(
        "",
        description="the master keys that seal stored secrets, id=base64 separated by "
        "commas, the first one current (`clearway admin new-master-key` makes one)",
        repr=False,
    )
    # A network's push is authenticated at the edge (SDI's and the access point's client
    # certificates, checked by the deployment's TLS terminator), which then adds this key.
    network_key_sandbox: str = Field(
        "",
        description="the bearer key a network's push to the receiver's "
        "/networks/<cc>/deliveries carries for sandbox deliveries (the simulators'); empty: "
        "refused",
        repr=False,
    )
    network_key_live: str = Field(
        "",
        description="the bearer key a network's push to the receiver's "
        "/networks/<cc>/deliveries carries for live deliveries; empty: refused",
        repr=False,
    )


# Where the kernel keeps a container's CPU limit: cgroup v2 ("quota period" or "max period"),
# then v1 (quota -1 for none). A CPU limit does not narrow the affinity, so it is read here.
_CGROUP_V2_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")
_CGROUP_V1_QUOTA = Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")
_CGROUP_V1_PERIOD = Path("/sys/fs/cgroup/cpu/cpu.cfs_period_us")


def usable_cpus(*, at_most: int) -> int:
    """The CPUs this process may use: its affinity, within its cgroup's CPU quota (a
    Kubernetes CPU limit), rounded up; at least 1, at most `at_most`."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = _cgroup_cpu_quota()
    if quota is not None:
        cpus = min(cpus or 1, math.ceil(quota))
    return max(1, min(cpus or 1, at_most))


def _cgroup_cpu_quota() -> float | None:
    try:
        if _CGROUP_V2_CPU_MAX.exists():
            quota, period = _CGROUP_V2_CPU_MAX.read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        if _CGROUP_V1_QUOTA.exists():
            quota_us = int(_CGROUP_V1_QUOTA.read_text())
            return None if quota_us < 0 else quota_us / int(_CGROUP_V1_PERIOD.read_text())
    except (OSError, ValueError):
        return None
    return None


class ConformanceSettings(SettingsGroup):
    model_config = variable_prefix("CLEARWAY_")

    schematron_dir: Path | None = Field(
        None,
        description="the project's own Schematron folder (unset: the repository's "
        "schematron/; an installed, non-editable package is told where it is)",
    )

    gate_workers: int = Field(
        default_factory=lambda: usable_cpus(at_most=4),
        ge=1,
        description="the converter's processes that write and check documents; each holds "
        "every country's compiled gates (~300 MB) and compiles them as it starts (a few "
        "seconds). Default: the CPUs this process may use (its affinity and cgroup quota), at "
        "most 4",
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
        return environment_values(self.settings_cls, current_environment())


class Settings(BaseSettings):
    """Everything a Clearway process is configured with (DATABASE_URL and KAFKA_BOOTSTRAP are
    required; every other setting has a default)."""

    # Each variable is the field's name in capitals unless the field names another (as the
    # groups' variable_prefix derives theirs).
    model_config = SettingsConfigDict(
        frozen=True,
        populate_by_name=True,
        extra="forbid",
        alias_generator=AliasGenerator(validation_alias=str.upper),
    )

    database_url: str = Field(description="the PostgreSQL Clearway stores in")
    kafka_bootstrap: str = Field(description="the Kafka bootstrap servers")
    poll_interval_initial: float = Field(
        1.0,
        description="seconds before the poller first asks a government about a submitted "
        "invoice (doubling to POLL_INTERVAL_MAX)",
    )
    poll_interval_max: float = Field(
        60.0,
        description="the longest pause between two status checks of one invoice, seconds",
    )
    poll_deadline_hours: float = Field(
        72.0,
        description="the poller gives up on a government decision after this many hours: "
        "the invoice goes to `error`",
    )
    api_rate_limit_per_second: float = Field(
        100.0,
        description="requests per second per API key (token bucket, burst twice that); an "
        "account may override it",
    )
    public_base_url: str = Field(
        "http://127.0.0.1:8080",
        description="Clearway's own address as a user's browser reaches it: ANAF redirects "
        "to {PUBLIC_BASE_URL}/v1/callbacks/anaf after the user authorized Clearway",
    )
    token_refresh_interval: float = Field(
        2.0,
        description="how often an idle token-refresher looks for connections due, seconds",
    )
    receive_interval: float = Field(
        30.0,
        gt=0,
        description="receiver: seconds between two looks at a company's inbox at its "
        "government when nothing more was waiting (at once when more was)",
    )
    receive_retry_base: float = Field(
        5.0,
        gt=0,
        description="receiver: the first pause after a failed look at an inbox, seconds "
        "(doubling with jitter to RECEIVE_RETRY_CAP; a government's Retry-After is honoured)",
    )
    receive_retry_cap: float = Field(
        900.0,
        gt=0,
        description="receiver: the longest pause after failed looks at an inbox, seconds",
    )
    respond_max_attempts: int = Field(
        10,
        gt=0,
        description="receiver: attempts at sending a buyer's response through its network "
        "before it fails (transient failures only; paused as RECEIVE_RETRY_BASE/_CAP say)",
    )
    submit_retry_base: float = Field(
        2.0,
        description="submitters: the first pause after a failed upload, seconds (doubling "
        "with jitter to SUBMIT_RETRY_CAP)",
    )
    submit_retry_cap: float = Field(
        600.0,
        description="submitters: the longest pause between two uploads, seconds",
    )
    submit_max_attempts: int = Field(
        10,
        description="submitters: uploads before the invoice goes to `error`",
    )
    work_lease_seconds: float = Field(
        90.0,
        description="how long a submitter or poller replica holds a claimed row: if it dies, "
        "another takes the row up after this (government calls time out within a third "
        "of it, at most 30 s)",
    )
    breaker_reset_seconds: float = Field(
        30.0,
        description="how long a submitter's circuit breaker stays open before one probe "
        "call goes out, seconds",
    )
    redrive_stalled_after: float = Field(
        60.0,
        gt=0,
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
        description="connections the process keeps open while idle",
    )
    database_pool_max: int = Field(
        10,
        ge=1,
        description="connections it may open under load",
    )
    database_pool_idle_seconds: float = Field(
        60.0,
        gt=0,
        description="how long a connection above the minimum stays open unused",
    )
    # Behind PgBouncer in transaction mode a server connection is not this client's across
    # transactions, so asyncpg's named prepared statements must be off.
    database_statement_cache_size: int = Field(
        100,
        ge=0,
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
        return validate_environment(cls, environ)

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


def variables() -> list[Variable]:
    """Every environment variable Clearway reads, in declaration order (docs, checks)."""
    return list(model_variables(Settings))
