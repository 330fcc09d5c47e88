"""The simulated ANAF's receiving side: a purchase invoice delivered to a buyer's inbox (the
sandbox control), listed as `FACTURA PRIMITA` by the paginated message list, downloaded as ANAF's
ZIP, within ANAF's limits and with its error bodies."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from typing import Any

import httpx
import pytest
from lxml import etree

from services.govsim.ro import lists
from tests.services.govsim.ro.test_anaf_sim import (
    BUYER_CIF,
    REST,
    SELLER_CIF,
    XMLDSIG_NS,
    bearer,
    invoice_xml,
    zip_entries,
)
from tests.services.govsim.simtools import FakeClock

DAY_MS = 86_400_000


async def deliver(client: httpx.AsyncClient, **request: Any) -> dict[str, Any]:
    response = await client.post("/_sim/anaf/purchase-invoices", json={"cif": BUYER_CIF, **request})
    assert response.status_code == 201, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def paged(
    client: httpx.AsyncClient, token: str, clock: FakeClock, rest: str = REST, **params: str
) -> httpx.Response:
    """listaMesajePaginatieFactura (at `rest`: the test environment's by default) over the last
    day, page 1 of the buyer's received invoices, unless `params` say otherwise."""
    now_ms = int(clock.now * 1000)
    query = {
        "startTime": str(now_ms - DAY_MS),
        "endTime": str(now_ms),
        "cif": BUYER_CIF,
        "pagina": "1",
        "filtru": "P",
        **params,
    }
    return await client.get(
        f"{rest}/listaMesajePaginatieFactura", params=query, headers=bearer(token)
    )


async def download(client: httpx.AsyncClient, token: str, download_id: str) -> httpx.Response:
    return await client.get(f"{REST}/descarcare", params={"id": download_id}, headers=bearer(token))


async def test_a_delivered_invoice_is_listed_for_its_buyer_as_received(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    delivered = await deliver(client, xml=invoice_xml().decode())
    assert delivered["tip"] == "FACTURA PRIMITA"
    clock.advance(60)

    page = (await paged(client, token, clock)).json()

    index = delivered["id_solicitare"]
    assert page["mesaje"] == [
        {
            "data_creare": "202601011200",
            "cif": BUYER_CIF,
            "id_solicitare": index,
            "detalii": f"Factura cu id_incarcare={index} emisa de cif_emitent={SELLER_CIF} "
            f"pentru cif_beneficiar={BUYER_CIF}",
            "tip": "FACTURA PRIMITA",
            "id": delivered["id"],
        }
    ]
    assert page["numar_total_inregistrari"] == 1
    assert page["numar_total_pagini"] == 1
    assert page["cui"] == BUYER_CIF
    assert page["titlu"] == (
        "Lista Mesaje disponibile din intervalul 31-12-2025 12:01:00 - 01-01-2026 12:01:00"
    )
    # The supplier sees it as sent, not received.
    sent = (await paged(client, token, clock, cif=SELLER_CIF, filtru="T")).json()
    assert [row["id"] for row in sent["mesaje"]] == [delivered["id"]]
    not_received = (await paged(client, token, clock, cif=SELLER_CIF)).json()
    assert not_received == {
        "eroare": "Nu exista mesaje in intervalul selectat",
        "titlu": "Lista Mesaje",
    }


async def test_the_buyer_downloads_the_invoice_and_anafs_seal_as_anaf_zips_them(
    client: httpx.AsyncClient, token: str
) -> None:
    body = invoice_xml()
    delivered = await deliver(client, xml=body.decode())

    response = await download(client, token, delivered["id"])

    assert response.headers["content-type"] == "application/zip"
    entries = zip_entries(response.content)
    index = delivered["id_solicitare"]
    assert set(entries) == {f"{index}.xml", f"semnatura_{index}.xml"}
    assert entries[f"{index}.xml"] == body
    seal = etree.fromstring(entries[f"semnatura_{index}.xml"])
    reference = seal.find("ds:SignedInfo/ds:Reference", XMLDSIG_NS)
    assert reference is not None
    assert reference.get("URI") == f"{index}.xml"
    digest = reference.findtext("ds:DigestValue", namespaces=XMLDSIG_NS)
    assert digest == base64.b64encode(hashlib.sha256(body).digest()).decode()


async def test_the_sample_is_a_cius_ro_invoice_rendered_for_the_buyer(
    client: httpx.AsyncClient, token: str
) -> None:
    delivered = await deliver(client, supplier_cif="18547290")

    entries = zip_entries((await download(client, token, delivered["id"])).content)

    invoice = etree.fromstring(entries[f"{delivered['id_solicitare']}.xml"])
    ns = {
        "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
        "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    }
    assert invoice.findtext("cbc:CustomizationID", namespaces=ns) == (
        "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"
    )
    assert invoice.findtext(
        "cac:AccountingCustomerParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", namespaces=ns
    ) == (f"RO{BUYER_CIF}")
    assert invoice.findtext(
        "cac:AccountingSupplierParty/cac:Party/cac:PartyTaxScheme/cbc:CompanyID", namespaces=ns
    ) == ("RO18547290")


async def test_a_document_anaf_would_not_accept_or_for_another_buyer_is_not_delivered(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    for request, error in (
        ({"xml": invoice_xml(seller_city="Bucuresti").decode()}, "[BR-RO-100]"),
        ({"cif": "555", "xml": invoice_xml().decode()}, f"buyer is {BUYER_CIF}, not 555"),
        ({"xml": "<Invoice"}, "Fisierul transmis nu este valid"),
    ):
        response = await client.post(
            "/_sim/anaf/purchase-invoices", json={"cif": BUYER_CIF, **request}
        )
        assert response.status_code == 422
        assert error in response.json()["errors"][0]
    clock.advance(60)
    assert "mesaje" not in (await paged(client, token, clock)).json()
    # Nothing was registered: the supplier has no error message either.
    assert "mesaje" not in (await paged(client, token, clock, cif=SELLER_CIF, filtru="E")).json()


async def test_a_damaged_delivery_downloads_as_a_broken_zip(
    client: httpx.AsyncClient, token: str
) -> None:
    delivered = await deliver(client, xml=invoice_xml().decode(), damaged=True)

    response = await download(client, token, delivered["id"])

    assert response.headers["content-type"] == "application/zip"
    assert response.content.startswith(b"PK")
    with pytest.raises(zipfile.BadZipFile):
        zip_entries(response.content)


async def test_the_list_pages_newest_first_and_refuses_a_page_past_the_last(
    client: httpx.AsyncClient, clock: FakeClock, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "LIST_PAGE_SIZE", 2)
    ids = []
    for _ in range(5):
        ids.append((await deliver(client, xml=invoice_xml().decode()))["id"])
        clock.advance(60)

    pages = [(await paged(client, token, clock, pagina=str(n))).json() for n in (1, 2, 3)]

    assert [[row["id"] for row in page["mesaje"]] for page in pages] == [
        ids[4:2:-1],
        ids[2:0:-1],
        ids[:1],
    ]
    assert [page["numar_inregistrari_in_pagina"] for page in pages] == [2, 2, 1]
    assert {page["numar_total_pagini"] for page in pages} == {3}
    assert {page["numar_total_inregistrari"] for page in pages} == {5}
    assert {page["numar_total_inregistrari_per_pagina"] for page in pages} == {2}
    assert [page["index_pagina_curenta"] for page in pages] == [1, 2, 3]
    past = (await paged(client, token, clock, pagina="4")).json()
    assert past == {
        "eroare": "Pagina solicitata 4 este mai mare decat numarul toatal de pagini 3",
        "titlu": "Lista Mesaje",
    }


async def test_the_list_refuses_bad_parameters_in_anafs_words(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    now_ms = int(clock.now * 1000)
    refusals = {
        "startTime = abc nu este un numar sau nu are o valoare acceptata de sistem": {
            "startTime": "abc"
        },
        "pagina = 0 nu este un numar sau nu are o valoare acceptata de sistem": {"pagina": "0"},
        "CIF introdus= x1 nu este un numar sau nu are o valoare acceptata de sistem": {"cif": "x1"},
        "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R": {"filtru": "X"},
        "startTime = 02-11-2025 11:59:59 nu poate fi mai vechi de 60 de zile fata de momentul "
        "requestului": {"startTime": str(now_ms - 60 * DAY_MS - 1000)},
        "endTime = 01-01-2026 12:00:01 nu poate in viitor fata de momentul requestului": {
            "endTime": str(now_ms + 1000)
        },
        "endTime = 31-12-2025 12:00:00 nu poate fi <= startTime = 31-12-2025 12:00:00": {
            "endTime": str(now_ms - DAY_MS)
        },
    }
    for message, params in refusals.items():
        response = await paged(client, token, clock, **params)
        assert response.status_code == 200
        assert response.json() == {"eroare": message, "titlu": "Lista Mesaje"}, params

    missing = await client.get(
        f"{REST}/listaMesajePaginatieFactura",
        params={"cif": BUYER_CIF, "pagina": "1"},
        headers=bearer(token),
    )
    assert missing.status_code == 400
    assert missing.json() == {
        "timestamp": "01-01-2026 12:00:00",
        "status": 400,
        "error": "Bad Request",
        "message": "Parametrii startTime, endTime, cif si pagina sunt obligatorii",
    }


async def test_the_paged_list_has_a_daily_quota_per_cif(
    client: httpx.AsyncClient, clock: FakeClock, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lists, "PAGED_LISTS_PER_CIF_PER_DAY", 2)
    await deliver(client, xml=invoice_xml().decode())
    clock.advance(60)
    for _ in range(2):
        assert "mesaje" in (await paged(client, token, clock)).json()

    assert (await paged(client, token, clock)).json() == {
        "eroare": "S-au facut deja 2 interogari de lista mesaje de catre utilizator in cursul "
        "zilei",
        "titlu": "Lista Mesaje",
    }
    # Another CIF has its own quota; the next day in Bucharest starts afresh.
    assert "mesaje" in (await paged(client, token, clock, cif=SELLER_CIF, filtru="T")).json()
    clock.advance(24 * 3600)
    two_days = str(int(clock.now * 1000) - 2 * DAY_MS)
    assert "mesaje" in (await paged(client, token, clock, startTime=two_days)).json()


async def test_a_received_invoice_downloads_ten_times_a_day(
    client: httpx.AsyncClient, token: str
) -> None:
    delivered = await deliver(client, xml=invoice_xml().decode())
    for _ in range(10):
        assert (await download(client, token, delivered["id"])).headers[
            "content-type"
        ] == "application/zip"

    over = await download(client, token, delivered["id"])

    assert over.json() == {
        "eroare": "S-au facut deja 10 descarcari de mesaj in cursul zilei",
        "titlu": "Descarcare mesaj",
    }


async def test_a_delivery_to_prod_is_listed_in_prod_only(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    delivered = await deliver(client, xml=invoice_xml().decode(), environment="prod")
    clock.advance(60)

    prod = await paged(client, token, clock, rest="/prod/FCTEL/rest")

    assert [row["id"] for row in prod.json()["mesaje"]] == [delivered["id"]]
    assert "mesaje" not in (await paged(client, token, clock)).json()  # not in test
