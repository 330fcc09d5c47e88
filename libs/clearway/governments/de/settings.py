"""The German B2G receipt platform's settings (ZRE/OZG-RE), for invoices to a Leitweg-ID."""

from __future__ import annotations

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, KeyedEndpoint, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix


class ZreSettings(SettingsGroup):
    """The German B2G receipt platform (ZRE/OZG-RE), for invoices to a Leitweg-ID."""

    model_config = variable_prefix("ZRE_")

    url: str = Field("http://127.0.0.1:8090/zre", description="ZRE/OZG-RE for sandbox invoices")
    api_key: str = Field(
        "clearway-sandbox-zre", description="Clearway's API key at the sandbox ZRE", repr=False
    )
    live_url: str | None = Field(None, description="ZRE/OZG-RE for live invoices")
    live_api_key: str | None = Field(
        None, description="Clearway's credentials at the live ZRE", repr=False
    )

    def endpoints(self) -> GovernmentEndpoints[KeyedEndpoint]:
        return government_endpoints(self, "ZRE", KeyedEndpoint)
