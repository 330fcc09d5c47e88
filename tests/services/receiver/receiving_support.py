"""What the whole-stack receiving tests share: a buyer company of the test's own in a receiving
country (its own inbox at the simulator, its own KSeF allowance), connected as a user connects
it; a delivery through a simulator's sandbox control (its sample as docs/sandbox.md shows, or the
test's own document); waiting for what arrives, the original and the evidence as the API gives
them back; and a redelivery (the inbox read again from its beginning: the same government ids
handed over again)."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from clearway.countries.checksums import luhn_check_digit
from clearway.governments import government
from clearway.governments.fr.identifiers import vat_key
from clearway.governments.it.identifiers import partita_iva_check_digit
from clearway.governments.ro.receiving import END_LAG

from services.stack.sandbox_seed import connect_company
from tests.conftest import data_of
from tests.libs.governments.pl.nips import random_nip
from tests.services.connections_support import connect_ro, new_company


async def deliver(govsim_url: str, control: str, body: dict[str, Any]) -> dict[str, Any]:
    """A purchase invoice delivered by a simulator's sandbox control (e.g.
    /_sim/pl/purchase-invoices); what the simulator answered."""
    async with httpx.AsyncClient(base_url=govsim_url, timeout=60) as sim:
        answer = await sim.post(control, json=body)
    assert answer.is_success, answer.text
    delivered: dict[str, Any] = answer.json()
    return delivered


async def received_list(
    client: httpx.AsyncClient, company_id: str, *, at_least: int = 1, timeout: float = 60
) -> list[dict[str, Any]]:
    """The company's received invoices once `at_least` arrived (or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[dict[str, Any]] = data_of(
            await client.get("/v1/received-invoices", params={"companyId": company_id})
        )
        if len(found) >= at_least or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.5)


@dataclass(frozen=True)
class Arrived:
    """One received invoice as the API gives it: its JSON, its original and its evidence."""

    received: dict[str, Any]
    document: httpx.Response
    evidence: httpx.Response


async def arrived_once(client: httpx.AsyncClient, company_id: str) -> Arrived:
    """The one invoice the company received, with /document and /evidence."""
    [summary] = await received_list(client, company_id)
    path = f"/v1/received-invoices/{summary['id']}"
    received: dict[str, Any] = data_of(await client.get(path))
    document = await client.get(f"{path}/document")
    evidence = await client.get(f"{path}/evidence")
    assert (document.status_code, evidence.status_code) == (200, 200)
    assert [f for f in received["findings"] if f["severity"] == "error"] == []
    return Arrived(received, document, evidence)


async def delivered_again_adds_nothing(
    db: asyncpg.Pool[Any], client: httpx.AsyncClient, arrived: Arrived
) -> None:
    """The inbox read again from its beginning, at once: the government hands the same
    messages over again; the company still has the one received invoice, with one event."""
    connection_id = arrived.received["connectionId"]
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE inbox_cursors SET cursor = NULL, next_fetch_at = now() "
            "WHERE connection_id = $1",
            connection_id,
        )
    read_again = False
    deadline = time.monotonic() + 30
    while not read_again and time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        async with db.acquire() as conn:
            # A page recorded from the beginning: the cursor is saved again, the lease let go.
            read_again = await conn.fetchval(
                "SELECT cursor IS NOT NULL AND lease_until IS NULL AND last_error IS NULL "
                "FROM inbox_cursors WHERE connection_id = $1",
                connection_id,
            )
    assert read_again, "the receiver did not read the inbox again"
    received_id = arrived.received["id"]
    company_id = arrived.received["companyId"]
    again = data_of(await client.get("/v1/received-invoices", params={"companyId": company_id}))
    assert [r["id"] for r in again] == [received_id]
    events = data_of(await client.get(f"/v1/received-invoices/{received_id}/events"))
    assert [e["event"] for e in events] == ["invoice.received"]


# Each receiving country's simulator control that delivers a sample purchase invoice: its path,
# the field naming the buyer, and the field of its answer that is the received invoice's
# governmentId. Where the receiver reads an inbox (RO, PL, FR: what docs/sandbox.md runs)...
SAMPLE_DELIVERY = {
    "RO": ("/_sim/anaf/purchase-invoices", "cif", "id"),
    "PL": ("/_sim/pl/purchase-invoices", "nip", "ksefNumber"),
    "FR": ("/_sim/fr/incoming-invoices", "buyerSiren", "flowId"),
}
# ... and where the network pushes each delivery to the receiver's /networks/<cc>/deliveries at
# once (SDI, the Peppol access point): the buyer must be receiving before it is sent anything.
PUSHED_DELIVERY = {
    "IT": ("/_sim/it/purchase-invoices", "buyerVat", "identificativoSdI"),
    "BE": ("/_sim/peppol/incoming", "receiver", "instanceIdentifier"),
    "DE": ("/_sim/peppol/incoming", "receiver", "instanceIdentifier"),
}
DELIVERY = {**SAMPLE_DELIVERY, **PUSHED_DELIVERY}


@dataclass(frozen=True)
class Buyer:
    country: str
    number: str  # what its government knows it by: CIF, NIP, SIREN, Partita IVA; BE, DE: VAT

    @property
    def vat_number(self) -> str:
        prefix = vat_key(self.number) if self.country == "FR" else ""
        return f"{self.country}{prefix}{self.number}"

    @property
    def addressed_as(self) -> str:
        """How its network's sample delivery names it: SDI by VAT number, the Peppol access
        point by participant id (its VAT number's, as its connection registers it)."""
        if self.country == "IT":
            return self.vat_number
        if self.country in {"BE", "DE"}:
            credentials = government(self.country).participant(self.vat_number)
            return f"{credentials.scheme}:{credentials.identifier}"
        return self.number


def new_partita_iva() -> str:
    """A fresh, valid Partita IVA (office 015, Milan): a company of the test's own."""
    body = f"{secrets.randbelow(9_000_000) + 1_000_000}015"
    return body + partita_iva_check_digit(body)


def new_buyer(country: str) -> Buyer:
    """A buyer no other test has, with valid check digits where the government checks them."""
    if country == "RO":
        return Buyer(country, str(secrets.randbelow(90_000_000) + 10_000_000))
    if country == "PL":
        return Buyer(country, random_nip())
    if country == "IT":
        return Buyer(country, new_partita_iva())
    if country == "BE":  # an enterprise number: its last two digits mod 97
        body = f"0{secrets.randbelow(8 * 10**6) + 2 * 10**6:07d}"
        return Buyer(country, f"{body}{97 - int(body) % 97:02d}")
    if country == "DE":
        return Buyer(country, str(secrets.randbelow(8 * 10**8) + 10**8))
    body = str(secrets.randbelow(90_000_000) + 10_000_000)
    return Buyer(country, body + luhn_check_digit(body))


async def send_sample(govsim_url: str, buyer: Buyer, **extra: Any) -> dict[str, Any]:
    """The simulator's sample purchase invoice (or `extra`'s own document) for the buyer; its
    answer (a pushed one's says whether the receiver acknowledged it: `acknowledged`)."""
    path, buyer_field, _ = DELIVERY[buyer.country]
    body = {buyer_field: buyer.addressed_as, **extra}
    if buyer.country in {"BE", "DE"}:
        body.setdefault("country", buyer.country)
    return await deliver(govsim_url, path, body)


async def deliver_sample(govsim_url: str, buyer: Buyer, **extra: Any) -> dict[str, Any]:
    """send_sample's answer; a pushed one acknowledged by the receiver."""
    delivered = await send_sample(govsim_url, buyer, **extra)
    assert buyer.country not in PUSHED_DELIVERY or acknowledged(delivered), delivered
    return delivered


def acknowledged(pushed: dict[str, Any]) -> bool:
    """Whether the receiver took a pushed delivery: SDI got ER01, the access point a 2xx."""
    return pushed.get("delivered") is True or pushed.get("outcome") == "delivered"


async def push_again(govsim_url: str, country: str, government_id: str) -> dict[str, Any]:
    """The network delivers the same file or SBD again, as it does while it holds no
    acknowledgement (SDI's next TentativiInvio, the access point's retry); its answer."""
    path = (
        f"/_sim/it/purchase-invoices/{government_id}/deliver"
        if country == "IT"
        else f"/_sim/peppol/incoming/{government_id}/redeliver"
    )
    async with httpx.AsyncClient(base_url=govsim_url, timeout=60) as sim:
        answer = await sim.post(path)
    assert answer.status_code == 200, answer.text
    again: dict[str, Any] = answer.json()
    return again


def government_id(country: str, delivered: dict[str, Any]) -> str:
    """The governmentId of what a sample delivery's answer says was delivered."""
    return str(delivered[DELIVERY[country][2]])


async def delivered_to_new_buyer(
    client: httpx.AsyncClient, govsim_url: str, buyer: Buyer, **extra: Any
) -> tuple[dict[str, Any], str]:
    """A sample purchase invoice delivered to the buyer, connected in the client's account: an
    inbox's before the company connects (its first look, at once, finds it), a pushed one once
    it receives. Its receiving connection, and the delivery's governmentId."""
    if buyer.country in PUSHED_DELIVERY:
        connection = await connect_buyer(client, govsim_url, buyer)
        delivered = await deliver_sample(govsim_url, buyer, **extra)
    else:
        delivered = await deliver_sample(govsim_url, buyer, **extra)
        if buyer.country == "RO":
            await until_anaf_lists_it()
        connection = await connect_buyer(client, govsim_url, buyer)
    return connection, government_id(buyer.country, delivered)


async def until_anaf_lists_it() -> None:
    """Wait until a message put in an SPV inbox just now is one the receiver's next look lists:
    its window ends END_LAG before the look (ANAF refuses an end in its future), so a look at
    once would leave it to the look after, an interval (30 s in the test stack) later."""
    await asyncio.sleep(END_LAG.total_seconds() + 0.1)


async def connect_buyer(client: httpx.AsyncClient, govsim_url: str, buyer: Buyer) -> dict[str, Any]:
    """The buyer's company in the client's account, with an active receiving connection made
    as a user makes it (RO: ANAF's OAuth; the others: the sandbox seed's way); the connection."""
    if buyer.country == "RO":
        return await connect_ro(client, await new_company(client, "RO", vatNumber=buyer.vat_number))
    company = {"legalName": f"Buyer {buyer.number}", "vatNumber": buyer.vat_number}
    async with httpx.AsyncClient(base_url=govsim_url, timeout=30) as sim:
        return await connect_company(client, sim, {**company, "country": buyer.country})
