"""SDI's settings (IT), through its REST façade; the channel's client certificate is the
company's, from its IT connection."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import Field

from clearway.config.endpoints import GovernmentEndpoints, government_endpoints
from clearway.config.environment import SettingsGroup, variable_prefix


@dataclass(frozen=True)
class SdiEndpoint:
    url: str
    # The CA bundle SDI's server certificate chains to (None: the system's trust store); the
    # client certificate is the channel's, from the company's IT connection.
    ca_file: str | None = None


class SdiSettings(SettingsGroup):
    """SDI (IT), through its REST façade; the channel's client certificate is the company's."""

    model_config = variable_prefix("SDI_")

    url: str = Field("http://127.0.0.1:8090/sdi", description="SDI's endpoint for sandbox invoices")
    live_url: str | None = Field(
        None, description="SDI's endpoint for Clearway's accredited channel, for live invoices"
    )
    live_ca_file: str | None = Field(
        None,
        description="the CA bundle SDI's live server certificate chains to (unset: the "
        "system's trust store)",
    )

    # SDI delivers every file addressed to this code (or to a buyer that registered it as its
    # preferred address) to the channel's RicezioneFatture service: the receiver's
    # /networks/it/deliveries (clearway.governments.it.receiving).
    codice_destinatario: str = Field(
        "CLRWY01",
        pattern=r"^[A-Z0-9]{7}$",
        description="the CodiceDestinatario of Clearway's SDI receiving channel (seven letters "
        "and digits): the one purchase invoices are delivered to",
    )

    def endpoints(self) -> GovernmentEndpoints[SdiEndpoint]:
        return government_endpoints(self, "SDI", SdiEndpoint)
