"""The settings of the French Plateforme Agréée Clearway deposits with."""

from __future__ import annotations

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, KeyedEndpoint, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix


class FrPaSettings(SettingsGroup):
    """The French Plateforme Agréée Clearway deposits with."""

    model_config = variable_prefix("FR_PA_")

    url: str = Field(
        "http://127.0.0.1:8090/pa", description="the Plateforme Agréée for sandbox invoices"
    )
    api_key: str = Field(
        "clearway-sandbox-pa", description="Clearway's API key at the sandbox PA", repr=False
    )
    live_url: str | None = Field(None, description="the Plateforme Agréée for live invoices")
    live_api_key: str | None = Field(
        None, description="Clearway's API key at the live PA", repr=False
    )

    def endpoints(self) -> GovernmentEndpoints[KeyedEndpoint]:
        return government_endpoints(self, "the French PA", KeyedEndpoint)
