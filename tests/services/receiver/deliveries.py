"""What the receiving stack tests share: a buyer company of the test's own in a receiving
country (its own inbox at the simulator, its own KSeF allowance), connected as a user connects
it, and the simulator's sample purchase invoice delivered to it as docs/sandbox.md shows."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx
from clearway.countries.checksums import luhn_check_digit
from clearway.governments.fr.identifiers import vat_key

from services.stack.sandbox_seed import connect_company
from tests.libs.governments.pl.nips import random_nip
from tests.services.connections_support import connect_ro, new_company

# Each receiving country's simulator control that delivers a sample purchase invoice: its path,
# the field naming the buyer, and the field of its answer that is the received invoice's
# governmentId.
SAMPLE_DELIVERY = {
    "RO": ("/_sim/anaf/purchase-invoices", "cif", "id"),
    "PL": ("/_sim/pl/purchase-invoices", "nip", "ksefNumber"),
    "FR": ("/_sim/fr/incoming-invoices", "buyerSiren", "flowId"),
}


@dataclass(frozen=True)
class Buyer:
    country: str
    number: str  # what its government knows it by: CIF, NIP, SIREN

    @property
    def vat_number(self) -> str:
        prefix = vat_key(self.number) if self.country == "FR" else ""
        return f"{self.country}{prefix}{self.number}"


def new_buyer(country: str) -> Buyer:
    """A buyer no other test has, with valid check digits where the government checks them."""
    if country == "RO":
        return Buyer(country, str(secrets.randbelow(90_000_000) + 10_000_000))
    if country == "PL":
        return Buyer(country, random_nip())
    body = str(secrets.randbelow(90_000_000) + 10_000_000)
    return Buyer(country, body + luhn_check_digit(body))


async def deliver_sample(govsim_url: str, buyer: Buyer, **extra: Any) -> dict[str, Any]:
    """The simulator's sample purchase invoice (or `extra`'s own document) for the buyer; its
    answer."""
    path, buyer_field, _ = SAMPLE_DELIVERY[buyer.country]
    async with httpx.AsyncClient(base_url=govsim_url, timeout=30) as sim:
        answer = await sim.post(path, json={buyer_field: buyer.number, **extra})
    assert answer.status_code == 201, answer.text
    delivered: dict[str, Any] = answer.json()
    return delivered


def government_id(country: str, delivered: dict[str, Any]) -> str:
    """The governmentId of what a sample delivery's answer says was delivered."""
    return str(delivered[SAMPLE_DELIVERY[country][2]])


async def connect_buyer(client: httpx.AsyncClient, govsim_url: str, buyer: Buyer) -> dict[str, Any]:
    """The buyer's company in the client's account, with an active receiving connection made
    as a user makes it (RO: ANAF's OAuth; the others: the sandbox seed's way); the connection."""
    if buyer.country == "RO":
        return await connect_ro(client, await new_company(client, "RO", vatNumber=buyer.vat_number))
    company = {"legalName": f"Buyer {buyer.number}", "vatNumber": buyer.vat_number}
    async with httpx.AsyncClient(base_url=govsim_url, timeout=30) as sim:
        return await connect_company(client, sim, {**company, "country": buyer.country})
