"""The government simulators as one FastAPI app: one router per country, plus test-only controls."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from clearway.observability.http import instrument_http_service
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.calls import install_call_counts
from services.govsim.de.api import build_zre_control_router, build_zre_router
from services.govsim.de.state import ZreSimulator
from services.govsim.fr.api import build_fr_pa_control_router, build_fr_pa_router
from services.govsim.fr.state import FrPaSimulator
from services.govsim.it.api import build_sdi_control_router, build_sdi_router
from services.govsim.it.delivery import RecipientChannel
from services.govsim.it.esiti import (
    DeliveredFiles,
    build_sdi_esiti_control_router,
    build_sdi_esiti_router,
)
from services.govsim.it.state import SdiSimulator
from services.govsim.latency import install_latency
from services.govsim.outage import install_outage
from services.govsim.peppol.api import build_peppol_router
from services.govsim.peppol.controls import build_peppol_control_router
from services.govsim.peppol.state import PeppolSimulator
from services.govsim.pl.api import build_ksef_router
from services.govsim.pl.controls import build_ksef_control_router
from services.govsim.pl.sessions import KsefSimulator
from services.govsim.ro.api import AnafSimulator, build_anaf_router
from services.govsim.ro.controls import build_anaf_control_router

if TYPE_CHECKING:
    from collections.abc import Mapping

ENVIRONMENT_VARIABLES = {
    "anaf_processing_delay": "GOVSIM_ANAF_PROCESSING_DELAY",
    "anaf_client_id": "GOVSIM_ANAF_CLIENT_ID",
    "anaf_client_secret": "GOVSIM_ANAF_CLIENT_SECRET",
    "anaf_requests_per_minute": "GOVSIM_ANAF_REQUESTS_PER_MINUTE",
    "pl_processing_delay": "GOVSIM_PL_PROCESSING_DELAY",
    "pl_access_token_minutes": "GOVSIM_PL_ACCESS_TOKEN_MINUTES",
    "it_processing_delay": "GOVSIM_IT_PROCESSING_DELAY",
    "peppol_processing_delay": "GOVSIM_PEPPOL_PROCESSING_DELAY",
    "peppol_api_key": "GOVSIM_PEPPOL_API_KEY",
    "fr_processing_delay": "GOVSIM_FR_PROCESSING_DELAY",
    "fr_api_key": "GOVSIM_FR_API_KEY",
    "de_processing_delay": "GOVSIM_DE_PROCESSING_DELAY",
    "de_api_key": "GOVSIM_DE_API_KEY",
    "receiver_url": "GOVSIM_RECEIVER_URL",
    "network_key": "GOVSIM_NETWORK_KEY",
    "it_channel_code": "GOVSIM_IT_CHANNEL_CODE",
}


class GovsimSettings(BaseModel):
    model_config = ConfigDict(frozen=True)

    anaf_processing_delay: float = Field(default=2.0, ge=0)  # seconds before ok/nok shows
    anaf_client_id: str = Field(default="clearway-sandbox", min_length=1)
    anaf_client_secret: str = Field(default="clearway-sandbox-secret", min_length=1)
    # ANAF's global limit is 1000 calls a minute; the benchmark lifts it to measure Clearway.
    anaf_requests_per_minute: int = Field(default=1000, ge=1)
    pl_processing_delay: float = Field(default=2.0, ge=0)  # KSeF: seconds to an invoice's status
    pl_access_token_minutes: float = Field(default=15, gt=0)  # KSeF accessToken lifetime
    it_processing_delay: float = Field(default=2.0, ge=0)  # SDI: seconds to RC/NS/MC
    # Peppol access point (BE, and DE B2B): seconds to delivery, and the API key it expects.
    peppol_processing_delay: float = Field(default=2.0, ge=0)
    peppol_api_key: str = Field(default="clearway-sandbox-peppol", min_length=1)
    # French Plateforme Agréée: seconds to 201 Émise or 213 Rejetée, and its API key.
    fr_processing_delay: float = Field(default=2.0, ge=0)
    fr_api_key: str = Field(default="clearway-sandbox-pa", min_length=1)
    # German B2G receipt platform (ZRE/OZG-RE): seconds to delivered/rejected, and its API key.
    de_processing_delay: float = Field(default=2.0, ge=0)
    de_api_key: str = Field(default="clearway-sandbox-zre", min_length=1)
    # Where the networks that push (SDI, the Peppol access point) deliver purchase invoices:
    # Clearway's receiver (POST {receiver_url}/networks/<cc>/deliveries, with the network key as
    # a bearer token); empty: they keep them undelivered.
    receiver_url: str = ""
    network_key: str = Field(default="clearway-sandbox-network", min_length=1)
    # The CodiceDestinatario SDI delivers to the receiver under: Clearway's sandbox default
    # (SDI_CODICE_DESTINATARIO).
    it_channel_code: str = Field(default="CLRWY01", pattern=r"^[A-Z0-9]{7}$")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> GovsimSettings:
        source = os.environ if environ is None else environ
        return cls.model_validate(
            {field: source[name] for field, name in ENVIRONMENT_VARIABLES.items() if name in source}
        )


@dataclass(frozen=True)
class CountrySimulators:
    """Simulators a test hands in, typically with a fake clock; the others come from settings."""

    ksef: KsefSimulator | None = None
    sdi: SdiSimulator | None = None
    peppol: PeppolSimulator | None = None
    fr_pa: FrPaSimulator | None = None
    zre: ZreSimulator | None = None


def create_app(
    settings: GovsimSettings,
    *,
    anaf: AnafSimulator | None = None,
    simulators: CountrySimulators | None = None,
) -> FastAPI:
    """`anaf` and `simulators` let a test hand in simulators it controls (for example with a
    fake clock)."""
    anaf_simulator = anaf or AnafSimulator(
        client_id=settings.anaf_client_id,
        client_secret=settings.anaf_client_secret,
        processing_delay=settings.anaf_processing_delay,
    )
    app = FastAPI(
        title="Clearway government simulators",
        description="Faithful simulators of government e-invoicing APIs, with fault injection. "
        "Paths under /_sim/ are test-only controls, not part of any real contract.",
    )
    if anaf is None:
        anaf_simulator.requests_per_minute = settings.anaf_requests_per_minute
    app.state.anaf = anaf_simulator
    app.include_router(build_anaf_router(anaf_simulator))
    app.include_router(build_anaf_control_router(anaf_simulator))
    _include_countries(app, settings, simulators or CountrySimulators())

    async def always_ready() -> bool:  # it depends on nothing outside itself
        return True

    app.state.outage = install_outage(app)
    app.state.latency = install_latency(app)
    app.state.calls = install_call_counts(app)
    instrument_http_service(app, "govsim", always_ready)
    return app


def _include_countries(app: FastAPI, settings: GovsimSettings, given: CountrySimulators) -> None:
    """PL, IT, BE/DE Peppol, FR and DE B2G: each its API router and its /_sim/<cc> controls."""
    ksef = given.ksef or KsefSimulator(
        processing_delay=settings.pl_processing_delay,
        access_token_lifetime=settings.pl_access_token_minutes * 60,
    )
    sdi = given.sdi or SdiSimulator(processing_delay=settings.it_processing_delay)
    if sdi.channel is None and settings.receiver_url:
        sdi.channel = RecipientChannel(
            url=f"{settings.receiver_url.rstrip('/')}/networks/it/deliveries",
            code=settings.it_channel_code,
            network_key=settings.network_key,
        )
    peppol = given.peppol or PeppolSimulator(
        processing_delay=settings.peppol_processing_delay,
        api_key=settings.peppol_api_key,
        receiver_url=settings.receiver_url,
        network_key=settings.network_key,
    )
    fr_pa = given.fr_pa or FrPaSimulator(
        processing_delay=settings.fr_processing_delay, api_key=settings.fr_api_key
    )
    zre = given.zre or ZreSimulator(
        processing_delay=settings.de_processing_delay, api_key=settings.de_api_key
    )
    app.state.ksef, app.state.sdi, app.state.peppol = ksef, sdi, peppol
    app.state.fr_pa, app.state.zre = fr_pa, zre
    app.state.sdi_deliveries = DeliveredFiles()  # what SDI delivered to recipients' channels
    for router in (
        build_ksef_router(ksef),
        build_ksef_control_router(ksef),
        build_sdi_router(sdi),
        build_sdi_control_router(sdi, app.state.sdi_deliveries),
        build_sdi_esiti_router(sdi, app.state.sdi_deliveries),
        build_sdi_esiti_control_router(sdi, app.state.sdi_deliveries),
        build_peppol_router(peppol),
        build_peppol_control_router(peppol),
        build_fr_pa_router(fr_pa),
        build_fr_pa_control_router(fr_pa),
        build_zre_router(zre),
        build_zre_control_router(zre),
    ):
        app.include_router(router)
