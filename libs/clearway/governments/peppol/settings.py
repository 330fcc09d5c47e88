"""The Peppol access point's settings: BE and DE B2B invoices go through it, and its SMP."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix


@dataclass(frozen=True)
class PeppolEndpoint:
    ap_url: str
    ap_api_key: str = field(repr=False)
    # Where receivers are registered in the SMP; None: their identifiers are only recorded.
    registration_url: str | None = None


class PeppolSettings(SettingsGroup):
    """The Peppol access point BE and DE B2B invoices go through, and the SMP."""

    model_config = variable_prefix("PEPPOL_")

    ap_url: str = Field(
        "http://127.0.0.1:8090/peppol", description="the Peppol access point for sandbox invoices"
    )
    ap_api_key: str = Field(
        "clearway-sandbox-peppol",
        description="Clearway's API key at the sandbox access point",
        repr=False,
    )
    registration_url: str | None = Field(
        None,
        description="where sandbox BE/DE participant identifiers are registered in the SMP "
        "(unset: connections only record them)",
    )
    live_ap_url: str | None = Field(None, description="the Peppol access point for live invoices")
    live_ap_api_key: str | None = Field(
        None, description="Clearway's API key at the live access point", repr=False
    )
    live_registration_url: str | None = Field(
        None,
        description="where live receivers are registered in the SMP (unset: their "
        "identifiers are only recorded)",
    )

    def endpoints(self) -> GovernmentEndpoints[PeppolEndpoint]:
        return government_endpoints(self, "Peppol", PeppolEndpoint)
