"""What the IT submitter tests (and the six-country run) share: a company of its own (its own
Partita IVA, so the simulator's files can be counted per test) whose SDI connection holds a
channel certificate uploaded through the API, and ways to file an invoice and find its files."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import httpx

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.security.certmaker import make_certificate, pem_bundle
from tests.libs.validation.bodies import clean_body
from tests.services.connections_support import new_company, start_connection

# How the simulated SDI names its endpoints in the attempts it records (and in injected faults).
SEND = "POST /files"
LOOKUP = "GET /files?nomeFile"


@dataclass(frozen=True)
class ItCompany:
    client: httpx.AsyncClient
    partita_iva: str
    company_id: str
    connection_id: str

    @property
    def transmitter(self) -> str:
        """The file names' prefix: IT + the transmitter's IdCodice."""
        return f"IT{self.partita_iva}"


def new_partita_iva() -> str:
    """Ten random digits and the check digit SDI verifies (the seller's 00301 check)."""
    digits = [secrets.randbelow(10) for _ in range(10)]
    total = sum(digits[index] for index in range(0, 10, 2))
    for index in range(1, 10, 2):
        doubled = digits[index] * 2
        total += doubled - 9 if doubled > 9 else doubled
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


async def it_company(make_account: MakeAccount) -> ItCompany:
    _, client = await make_account()
    partita_iva = new_partita_iva()
    company_id = await new_company(client, "IT", vatNumber=f"IT{partita_iva}")
    pending = await start_connection(client, company_id, "IT")
    certificate, key = make_certificate()
    uploaded = await client.post(
        f"/v1/connections/{pending['id']}/certificate",
        json={"format": "pem", "certificate": pem_bundle(certificate, key).decode()},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert uploaded.json()["data"]["status"] == "active"
    return ItCompany(client, partita_iva, company_id, pending["id"])


def invoice_body(company: ItCompany) -> dict[str, Any]:
    body: dict[str, Any] = clean_body("IT")
    number = f"IT-{secrets.token_hex(4)}"
    body["invoiceNumber"] = number
    body["externalId"] = number
    body["supplier"]["vatNumber"] = company.transmitter
    return body


async def file_invoice(company: ItCompany, scenario: str | None = None) -> str:
    headers = {"X-Clearway-Sandbox-Scenario": scenario} if scenario else {}
    created = await company.client.post("/v1/invoices", json=invoice_body(company), headers=headers)
    assert created.status_code == 201, created.text
    invoice_id: str = created.json()["data"]["id"]
    return invoice_id


async def sdi_files(stack: Stack, company: ItCompany) -> list[dict[str, Any]]:
    """Every file the simulated SDI received from the company, whatever its name."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        answer = await sim.get("/_sim/it/files")
    assert answer.status_code == 200, answer.text
    return [
        received
        for received in answer.json()
        if received["nomeFile"].startswith(f"{company.transmitter}_")
    ]
