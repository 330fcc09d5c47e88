"""The simulator's count of the calls each government answered, by endpoint (govsim/calls.py):
what the benchmark divides by the invoices decided."""

from __future__ import annotations

from services.govsim.calls import government_of
from services.govsim.ro.state import AnafSimulator
from tests.services.govsim.ro.test_anaf_sim import REST, bearer, invoice_xml, upload_index
from tests.services.govsim.simtools import govsim_client


async def test_every_government_call_is_counted_by_endpoint_and_the_controls_are_not() -> None:
    anaf = AnafSimulator(
        client_id="clearway-sandbox",
        client_secret="clearway-sandbox-secret",  # noqa: S106 - the simulator's public default
        processing_delay=0,
    )
    async with govsim_client(anaf=anaf) as client:
        token = anaf.oauth.mint(None)["access_token"]
        index = await upload_index(client, token, invoice_xml())
        for _ in range(2):
            await client.get(
                f"{REST}/stareMesaj", params={"id_incarcare": index}, headers=bearer(token)
            )
        await client.get(f"{REST}/stareMesaj", params={"id_incarcare": index})  # refused: 401
        await client.get("/_sim/anaf/faults")
        await client.get("/healthz")

        counted = (await client.get("/_sim/calls")).json()
        assert counted == {"RO": {"POST /upload": 1, "GET /stareMesaj": 3}}
        assert (await client.delete("/_sim/calls")).status_code == 204
        assert (await client.get("/_sim/calls")).json() == {}


def test_each_api_belongs_to_its_government() -> None:
    assert government_of("/test/FCTEL/rest/upload") == "RO"
    assert government_of("/prod/FCTEL/rest/stareMesaj") == "RO"
    assert government_of("/v2/sessions/online") == "PL"
    assert government_of("/peppol/documents") == "BE"
    assert government_of("/_sim/anaf/faults") is None
