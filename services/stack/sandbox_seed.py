"""The dev account's other five countries: a company each, connected to the simulated government
the way a user connects one, through the public API (docs/sandbox.md shows an invoice for each).

RO is seeded before the services start (services.stack.stack). Here, once the API answers:
IT uploads a self-signed channel certificate made on the spot; PL asks the simulated KSeF
portal for a KSeF token and hands it to the connection; BE, DE and FR are active at once with
their network identifiers. Every start does it again: POST /v1/companies and POST
/v1/connections answer what exists, and the simulators keep nothing across restarts (so PL
gets a fresh token each time).
"""

from __future__ import annotations

from typing import Any

import httpx
from clearway.domain.connections import SetupMethod
from clearway.governments import government
from clearway.security.self_signed import (
    certificate_pem,
    common_name,
    key_pem,
    self_signed_certificate,
)
from cryptography.hazmat.primitives.asymmetric import ec

# Made-up companies whose identifiers carry valid check digits (tests/services/stack checks them
# with python-stdnum), so the docs' examples are valid with a live key as well. Seed data, kept
# here with the docs it serves; how each connects is its Government's setup method.
SANDBOX_COMPANIES: dict[str, dict[str, Any]] = {
    "IT": {
        "legalName": "Sandbox Fornitore S.r.l.",
        "vatNumber": "IT12345670157",
        "country": "IT",
        "address": {
            "street": "Via Roma 10",
            "city": "Milano",
            "postalCode": "20121",
            "country": "IT",
        },
    },
    "PL": {
        "legalName": "Sandbox Dostawca sp. z o.o.",
        "vatNumber": "PL1234563218",
        "country": "PL",
        "address": {
            "street": "ul. Marszałkowska 5",
            "city": "Warszawa",
            "postalCode": "00-001",
            "country": "PL",
        },
    },
    "BE": {
        "legalName": "Sandbox Leverancier BV",
        "vatNumber": "BE0123456749",
        "country": "BE",
        "address": {
            "street": "Grote Markt 1",
            "city": "Leuven",
            "postalCode": "3000",
            "country": "BE",
        },
    },
    "DE": {
        "legalName": "Sandbox Lieferant GmbH",
        "vatNumber": "DE123456788",
        "country": "DE",
        "address": {
            "street": "Hauptstraße 7",
            "city": "Berlin",
            "postalCode": "10115",
            "country": "DE",
        },
    },
    "FR": {
        "legalName": "Sandbox Fournisseur SAS",
        "vatNumber": "FR11123456782",
        "country": "FR",
        "address": {
            "street": "Rue de Rivoli 1",
            "city": "Paris",
            "postalCode": "75001",
            "country": "FR",
        },
    },
}


class SeedError(RuntimeError):
    """A step of connecting the dev account's sandbox companies was refused."""


def sandbox_channel_certificate() -> str:
    """A self-signed certificate and its key (PEM), standing in for an SDI channel's: the
    simulated SDI takes any certificate that is valid now."""
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = self_signed_certificate(common_name("SDI channel (Clearway sandbox)"), key)
    return (certificate_pem(certificate) + key_pem(key)).decode()


def _data(answer: httpx.Response, step: str) -> dict[str, Any]:
    if answer.status_code not in {200, 201}:
        raise SeedError(f"{step}: {answer.status_code} {answer.text}")
    data: dict[str, Any] = answer.json()["data"]
    return data


async def _ksef_token(sim: httpx.AsyncClient, vat_number: str) -> str:
    """What a user does in the KSeF portal, here in the simulator's: a token for the NIP."""
    made = await sim.post("/_sim/pl/ksef-tokens", json={"nip": vat_number.removeprefix("PL")})
    if made.status_code != httpx.codes.CREATED:
        raise SeedError(f"KSeF token: {made.status_code} {made.text}")
    token: str = made.json()["token"]
    return token


async def connect_company(
    api: httpx.AsyncClient, sim: httpx.AsyncClient, company: dict[str, Any]
) -> dict[str, Any]:
    """The company (a POST /v1/companies body) made and connected to its simulated government
    the way its Government sets up (not RO's OAuth: the stack seeds that); the active
    connection. The tests connect companies of their own the same way."""
    country = company["country"]
    company_id = _data(await api.post("/v1/companies", json=company), f"{country} company")["id"]
    connection = _data(
        await api.post("/v1/connections", json={"companyId": company_id, "countryCode": country}),
        f"{country} connection",
    )
    uploads = f"/v1/connections/{connection['id']}"
    method = government(country).setup_method
    if method is SetupMethod.KSEF_TOKEN:  # always: the simulator forgot the tokens it issued
        token = await _ksef_token(sim, company["vatNumber"])
        connection = _data(
            await api.post(f"{uploads}/ksef-token", json={"token": token}), "PL KSeF token"
        )
    elif method is SetupMethod.CERTIFICATE and connection["status"] != "active":
        certificate = {"format": "pem", "certificate": sandbox_channel_certificate()}
        connection = _data(
            await api.post(f"{uploads}/certificate", json=certificate), "IT certificate"
        )
    if connection["status"] != "active":
        raise SeedError(f"the {country} connection is {connection['status']}: {connection}")
    return connection


async def connect_sandbox_countries(api_url: str, api_key: str, govsim_url: str) -> None:
    """A company with an active sandbox connection for IT, PL, BE, DE and FR in the key's
    account; raises SeedError naming the step that was refused."""
    async with (
        httpx.AsyncClient(
            base_url=api_url, headers={"Authorization": f"Bearer {api_key}"}, timeout=30
        ) as api,
        httpx.AsyncClient(base_url=govsim_url, timeout=10) as sim,
    ):
        for company in SANDBOX_COMPANIES.values():
            await connect_company(api, sim, company)
