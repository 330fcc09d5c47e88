"""KSeF 2.0's settings (PL): its sandbox and live API."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix


@dataclass(frozen=True)
class KsefEndpoint:
    api_url: str


class KsefSettings(SettingsGroup):
    """KSeF 2.0 (PL)."""

    model_config = variable_prefix("KSEF_")

    api_url: str = Field(
        "http://127.0.0.1:8090/v2", description="the KSeF 2.0 API base (…/v2) for sandbox invoices"
    )
    live_api_url: str | None = Field(None, description="the KSeF 2.0 API base for live invoices")

    def endpoints(self) -> GovernmentEndpoints[KsefEndpoint]:
        return government_endpoints(self, "KSeF", KsefEndpoint)
