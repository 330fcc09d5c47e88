"""ANAF e-Factura's settings (RO): its sandbox and live endpoints, and how Clearway paces it."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix

# ANAF's production hosts, public and documented (../shared/reference/GOVERNMENTS.md §1).
ANAF_LIVE_REST_URL = "https://api.anaf.ro/prod/FCTEL/rest"
ANAF_LIVE_OAUTH_URL = "https://logincert.anaf.ro/anaf-oauth2/v1"


@dataclass(frozen=True)
class AnafEndpoint:
    rest_url: str
    oauth_url: str
    client_id: str
    client_secret: str = field(repr=False)


class AnafSettings(SettingsGroup):
    """ANAF e-Factura (RO)."""

    model_config = variable_prefix("ANAF_")

    rest_url: str = Field(
        "http://127.0.0.1:8090/test/FCTEL/rest",
        description="ANAF e-Factura REST base (…/FCTEL/rest) for sandbox invoices",
    )
    oauth_url: str = Field(
        "http://127.0.0.1:8090/anaf-oauth2/v1",
        description="ANAF's OAuth base (…/anaf-oauth2/v1) for sandbox connections",
    )
    client_id: str = Field(
        "clearway-sandbox", description="Clearway's OAuth client id at the sandbox ANAF"
    )
    client_secret: str = Field(
        "clearway-sandbox-secret",  # the simulator's public sandbox secret
        description="Clearway's OAuth client secret at the sandbox ANAF",
        repr=False,
    )
    reconcile_window: float = Field(
        1800.0,
        description="seconds after a lost upload answer during which ANAF's message list is "
        "searched for it before the invoice is uploaded again (ANAF lists a message once it "
        "has processed it)",
    )
    calls_per_minute: int = Field(
        1000, description="ANAF's global call limit, shared by every replica"
    )
    status_list_every: float = Field(
        1.0,
        gt=0,
        description="seconds between two reads of a company's message list by a poller: one "
        "read answers the status of all the company's recent uploads",
    )
    status_list_silence: float = Field(
        10.0,
        ge=0,
        description="seconds after which an upload the message list does not show yet is asked "
        "about with stareMesaj (an upload ANAF did not take is never listed)",
    )
    # Only ANAF's live hosts have defaults: they are public.
    live_rest_url: str | None = Field(
        ANAF_LIVE_REST_URL, description="ANAF's production e-Factura REST base, for live invoices"
    )
    live_oauth_url: str | None = Field(
        ANAF_LIVE_OAUTH_URL, description="ANAF's production OAuth base, for live connections"
    )
    live_client_id: str | None = Field(
        None, description="the client id of Clearway's OAuth application registered with ANAF"
    )
    live_client_secret: str | None = Field(
        None,
        description="the client secret of Clearway's OAuth application registered with ANAF",
        repr=False,
    )

    def endpoints(self) -> GovernmentEndpoints[AnafEndpoint]:
        return government_endpoints(self, "ANAF", AnafEndpoint)
