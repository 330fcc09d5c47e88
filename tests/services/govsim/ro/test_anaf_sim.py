"""The ANAF e-Factura simulator, driven over HTTP as a client of the real system would drive it."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from lxml import etree

from services.govsim.app import GovsimSettings
from tests.services.govsim.simtools import FakeClock

CLIENT_ID = "clearway-sandbox"
CLIENT_SECRET = "clearway-sandbox-secret"  # noqa: S105 -- the simulator's documented default
REDIRECT_URI = "https://clearway.example/anaf/callback"
REST = "/test/FCTEL/rest"
SELLER_CIF = "12345678"
BUYER_CIF = "87654321"
PROCESSING_DELAY = 2.0

UPLOAD_NS = {"r": "mfp:anaf:dgti:spv:respUploadFisier:v1"}
STATUS_NS = {"s": "mfp:anaf:dgti:efactura:stareMesajFactura:v1"}
ERROR_REPORT_NS = {"e": "mfp:anaf:dgti:efactura:mesajEroriFactuta:v1"}
XMLDSIG_NS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}
CIUS_RO = "urn:cen.eu:en16931:2017#compliant#urn:efactura.mfinante.ro:CIUS-RO:1.0.1"


BUCHAREST_NOON = 1_767_261_600.0  # 2026-01-01 12:00 in Bucharest: the tests' start


def invoice_xml(
    *,
    customization_id: str = CIUS_RO,
    seller_cif: str = f"RO{SELLER_CIF}",
    seller_city: str = "SECTOR1",
    seller_county: str = "RO-B",
    buyer_county: str = "RO-CJ",
    line_amounts: tuple[str, ...] = ("60.00", "40.00"),
    total: str = "100.00",
) -> bytes:
    """A small CIUS-RO invoice; the defaults make it valid."""
    lines = "".join(
        f"""
  <cac:InvoiceLine>
    <cbc:ID>{number}</cbc:ID>
    <cbc:InvoicedQuantity unitCode="H87">1</cbc:InvoicedQuantity>
    <cbc:LineExtensionAmount currencyID="RON">{amount}</cbc:LineExtensionAmount>
    <cac:Item>
      <cbc:Name>Serviciu {number}</cbc:Name>
      <cac:ClassifiedTaxCategory>
        <cbc:ID>S</cbc:ID><cbc:Percent>21</cbc:Percent>
        <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
      </cac:ClassifiedTaxCategory>
    </cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="RON">{amount}</cbc:PriceAmount></cac:Price>
  </cac:InvoiceLine>"""
        for number, amount in enumerate(line_amounts, start=1)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>{customization_id}</cbc:CustomizationID>
  <cbc:ID>CW-2026-0001</cbc:ID>
  <cbc:IssueDate>2026-01-01</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>RON</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty><cac:Party>
    <cac:PostalAddress>
      <cbc:StreetName>Strada Exemplu 1</cbc:StreetName>
      <cbc:CityName>{seller_city}</cbc:CityName>
      <cbc:CountrySubentity>{seller_county}</cbc:CountrySubentity>
      <cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme>
      <cbc:CompanyID>{seller_cif}</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
    </cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Vanzator SRL</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:Party></cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty><cac:Party>
    <cac:PostalAddress>
      <cbc:StreetName>Bulevardul Eroilor 2</cbc:StreetName>
      <cbc:CityName>Cluj-Napoca</cbc:CityName>
      <cbc:CountrySubentity>{buyer_county}</cbc:CountrySubentity>
      <cac:Country><cbc:IdentificationCode>RO</cbc:IdentificationCode></cac:Country>
    </cac:PostalAddress>
    <cac:PartyTaxScheme>
      <cbc:CompanyID>RO{BUYER_CIF}</cbc:CompanyID>
      <cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme>
    </cac:PartyTaxScheme>
    <cac:PartyLegalEntity><cbc:RegistrationName>Cumparator SRL</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:Party></cac:AccountingCustomerParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="RON">21.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="RON">{total}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="RON">{total}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="RON">121.00</cbc:TaxInclusiveAmount>
    <cbc:PayableAmount currencyID="RON">121.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>{lines}
</Invoice>
""".encode()


# --- fixtures ---------------------------------------------------------------------------------


def bearer(access_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {access_token}"}


async def authorize_redirect(
    client: httpx.AsyncClient, state: str, **extra: str
) -> dict[str, list[str]]:
    """The query of /authorize's redirect back to REDIRECT_URI."""
    response = await client.get(
        "/anaf-oauth2/v1/authorize",
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "state": state,
            **extra,
        },
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT_URI
    return parse_qs(location.query)


async def authorization_code(client: httpx.AsyncClient, state: str = "xyz") -> str:
    query = await authorize_redirect(client, state, token_content_type="jwt")  # noqa: S106
    assert query["state"] == [state]
    return query["code"][0]


async def access_token_via_oauth(client: httpx.AsyncClient) -> str:
    code = await authorization_code(client)
    response = await client.post(
        "/anaf-oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200, response.text
    access_token: str = response.json()["access_token"]
    return access_token


async def upload(
    client: httpx.AsyncClient,
    access_token: str,
    body: bytes,
    *,
    cif: str = SELLER_CIF,
    standard: str = "UBL",
    base: str = REST,
) -> etree._Element:
    response = await client.post(
        f"{base}/upload",
        params={"standard": standard, "cif": cif},
        content=body,
        headers={**bearer(access_token), "Content-Type": "text/plain"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return etree.fromstring(response.content)


async def upload_index(client: httpx.AsyncClient, access_token: str, body: bytes) -> str:
    answer = await upload(client, access_token, body)
    assert answer.get("ExecutionStatus") == "0", etree.tostring(answer)
    index = answer.get("index_incarcare")
    assert index is not None
    return index


async def message_state(
    client: httpx.AsyncClient, access_token: str, index: str, base: str = REST
) -> etree._Element:
    response = await client.get(
        f"{base}/stareMesaj", params={"id_incarcare": index}, headers=bearer(access_token)
    )
    assert response.status_code == 200, response.text
    return etree.fromstring(response.content)


def error_messages(answer: etree._Element, tag: str = "Errors") -> list[str]:
    return [
        element.get("errorMessage", "")
        for element in answer
        if etree.QName(element).localname == tag
    ]


async def decided(
    client: httpx.AsyncClient, clock: FakeClock, access_token: str, body: bytes
) -> tuple[str, etree._Element]:
    index = await upload_index(client, access_token, body)
    clock.advance(PROCESSING_DELAY)
    return index, await message_state(client, access_token, index)


def zip_entries(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


# --- OAuth ------------------------------------------------------------------------------------


async def test_oauth_code_flow_issues_jwt_shaped_tokens_and_refreshes(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    code = await authorization_code(client, state="abc123")
    response = await client.post(
        "/anaf-oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["token_type"] == "Bearer"  # noqa: S105 -- a token type, not a secret
    assert tokens["expires_in"] == 90 * 24 * 3600
    claims = json.loads(base64.urlsafe_b64decode(tokens["access_token"].split(".")[1] + "=="))
    assert claims["exp"] == int(clock.now) + 90 * 24 * 3600

    refreshed = await client.post(
        "/anaf-oauth2/v1/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": tokens["refresh_token"],
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    assert refreshed.status_code == 200
    new_access = refreshed.json()["access_token"]
    assert new_access != tokens["access_token"]
    answer = await message_state(client, new_access, "abc")
    assert error_messages(answer) == ["Id_incarcare introdus= abc nu este un numar intreg"]

    # A replayed code is refused, and what it bought is revoked (RFC 6749 section 4.1.2).
    replay = await client.post(
        "/anaf-oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    revoked = await client.get(
        f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(new_access)
    )
    assert revoked.status_code == 401


async def test_oauth_refuses_unknown_client_wrong_secret_and_other_redirect_uri(
    client: httpx.AsyncClient,
) -> None:
    unknown = await client.get(
        "/anaf-oauth2/v1/authorize",
        params={"response_type": "code", "client_id": "nobody", "redirect_uri": REDIRECT_URI},
    )
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_request"

    code = await authorization_code(client)
    wrong_secret = await client.post(
        "/anaf-oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI},
        auth=(CLIENT_ID, "not-the-secret"),
    )
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"

    other_redirect = await client.post(
        "/anaf-oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "https://x.test/"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )
    assert other_redirect.status_code == 400
    assert other_redirect.json()["error"] == "invalid_grant"


async def test_api_answers_401_without_a_valid_access_token(
    client: httpx.AsyncClient, token: str
) -> None:
    for headers in ({}, bearer("not-a-token")):
        response = await client.post(
            f"{REST}/upload",
            params={"standard": "UBL", "cif": SELLER_CIF},
            content=invoice_xml(),
            headers=headers,
        )
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert response.json()["status"] == 401

    expire = await client.post("/_sim/anaf/tokens/expire", json={"token": token})
    assert expire.status_code == 204
    response = await client.get(
        f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(token)
    )
    assert response.status_code == 401


# --- upload, status, download -----------------------------------------------------------------


async def test_valid_invoice_is_processing_then_ok_and_downloads_with_its_seal(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    body = invoice_xml()
    answer = await upload(client, token, body)
    assert answer.get("ExecutionStatus") == "0"
    assert answer.get("dateResponse") == "202601011200"
    index = answer.get("index_incarcare") or ""
    assert len(index) == 10
    assert index.isdigit()

    processing = await message_state(client, token, index)
    assert processing.get("stare") == "in prelucrare"
    assert processing.get("id_descarcare") is None

    clock.advance(PROCESSING_DELAY)
    done = await message_state(client, token, index)
    assert done.get("stare") == "ok"
    download_id = done.get("id_descarcare")
    assert download_id is not None

    response = await client.get(
        f"{REST}/descarcare", params={"id": download_id}, headers=bearer(token)
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    entries = zip_entries(response.content)
    assert set(entries) == {f"{index}.xml", f"semnatura_{index}.xml"}
    assert entries[f"{index}.xml"] == body
    seal = etree.fromstring(entries[f"semnatura_{index}.xml"])
    assert etree.QName(seal).localname == "Signature"
    digest = seal.findtext(".//ds:DigestValue", namespaces=XMLDSIG_NS)
    assert digest == base64.b64encode(hashlib.sha256(body).digest()).decode()


async def test_bucharest_seller_without_sector_is_nok_with_an_error_report(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    index, state = await decided(client, clock, token, invoice_xml(seller_city="Bucuresti"))
    assert state.get("stare") == "nok"

    response = await client.get(
        f"{REST}/descarcare", params={"id": state.get("id_descarcare")}, headers=bearer(token)
    )
    entries = zip_entries(response.content)
    assert set(entries) == {f"{index}.xml", f"semnatura_{index}.xml"}
    report = etree.fromstring(entries[f"{index}.xml"])
    assert etree.QName(report).namespace == ERROR_REPORT_NS["e"]
    assert report.get("Index_incarcare") == index
    assert report.get("Cif_emitent") == SELLER_CIF
    messages = error_messages(report, tag="Error")
    assert len(messages) == 1
    assert messages[0].startswith("[BR-RO-100]-")
    assert "SECTOR1" in messages[0]


@pytest.mark.parametrize(
    ("document", "rule"),
    [
        (invoice_xml(customization_id="urn:cen.eu:en16931:2017"), "[BR-RO-001]"),
        (invoice_xml(buyer_county="Cluj"), "[BR-RO-111]"),
        (invoice_xml(seller_county="RO-BUC"), "[BR-RO-110]"),
        (invoice_xml(line_amounts=()), "[BR-16]"),
        (invoice_xml(line_amounts=("60.00", "40.01")), "[BR-CO-10]"),
        (invoice_xml(seller_cif="RO11111111"), "E: validari globale"),
    ],
)
async def test_each_failing_rule_makes_the_message_nok(
    client: httpx.AsyncClient, clock: FakeClock, token: str, document: bytes, rule: str
) -> None:
    _, state = await decided(client, clock, token, document)
    assert state.get("stare") == "nok"
    messages = (await client.get("/_sim/anaf/messages")).json()[0]["errors"]
    assert len(messages) == 1
    assert messages[0].startswith(rule)


async def test_upload_refusals_come_back_in_the_xml_answer(
    client: httpx.AsyncClient, token: str
) -> None:
    cases = [
        ({"cif": "12a"}, invoice_xml(), "CIF introdus= 12a nu este un numar"),
        ({"standard": "PDF"}, invoice_xml(), "Valorile acceptate pentru parametrul standard"),
        ({"standard": "CN"}, invoice_xml(), "Cannot find the declaration of element 'Invoice'"),
        ({}, b"<Invoice><unclosed></Invoice>", "org.xml.sax.SAXParseException; lineNumber: 1"),
    ]
    for overrides, body, expected in cases:
        params = {"standard": "UBL", "cif": SELLER_CIF, **overrides}
        response = await client.post(
            f"{REST}/upload", params=params, content=body, headers=bearer(token)
        )
        assert response.status_code == 200
        answer = etree.fromstring(response.content)
        assert answer.get("ExecutionStatus") == "1"
        assert answer.get("index_incarcare") is None
        assert expected in error_messages(answer)[0]

    missing = await client.post(
        f"{REST}/upload", params={"standard": "UBL"}, content=invoice_xml(), headers=bearer(token)
    )
    assert missing.status_code == 400
    assert missing.json()["message"] == "Parametrii standard si cif sunt obligatorii"
    assert (await client.get("/_sim/anaf/messages")).json() == []


@pytest.mark.parametrize(
    "payload",
    [
        b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&secret;</Invoice>""",
        b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&d;</Invoice>""",
        # The same, hidden from a byte scan by UTF-16.
        (
            '<?xml version="1.0" encoding="UTF-16"?>\n'
            '<!DOCTYPE Invoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
            '<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">'
            "&secret;</Invoice>"
        ).encode("utf-16"),
    ],
    ids=["xxe", "billion-laughs", "xxe-utf16"],
)
async def test_doctype_payloads_are_refused_without_expansion(
    client: httpx.AsyncClient, token: str, payload: bytes
) -> None:
    answer = await upload(client, token, payload)
    assert answer.get("ExecutionStatus") == "1"
    [message] = error_messages(answer)
    assert "DOCTYPE is disallowed" in message
    assert "root:" not in message
    assert len(etree.tostring(answer)) < 1_000
    assert (await client.get("/_sim/anaf/messages")).json() == []


async def test_status_errors_for_bad_unknown_and_foreign_ids(
    client: httpx.AsyncClient, token: str
) -> None:
    assert error_messages(await message_state(client, token, "12x")) == [
        "Id_incarcare introdus= 12x nu este un numar intreg"
    ]
    assert error_messages(await message_state(client, token, "42")) == [
        "Nu exista factura cu id_incarcare= 42"
    ]
    index = await upload_index(client, token, invoice_xml())
    restrict = await client.put("/_sim/anaf/tokens/cifs", json={"token": token, "cifs": ["999"]})
    assert restrict.status_code == 204
    assert error_messages(await message_state(client, token, index)) == [
        f"Nu aveti dreptul de inteorgare pentru id_incarcare= {index}"
    ]
    refused = await upload(client, token, invoice_xml())
    assert error_messages(refused) == [f"Nu aveti drept in SPV pentru CIF={SELLER_CIF}"]

    missing = await client.get(f"{REST}/stareMesaj", headers=bearer(token))
    assert missing.status_code == 400
    assert missing.json()["message"] == "Parametrul id_incarcare este obligatoriu"


async def test_download_errors_are_json_with_http_200(
    client: httpx.AsyncClient, token: str
) -> None:
    for raw_id, expected in (
        ("12a", "Id descarcare introdus= 12a nu este un numar intreg"),
        ("21", "Pentru id=21 nu exista inregistrata nici o factura"),
    ):
        response = await client.get(
            f"{REST}/descarcare", params={"id": raw_id}, headers=bearer(token)
        )
        assert response.status_code == 200
        assert response.json() == {"eroare": expected, "titlu": "Descarcare mesaj"}


async def test_a_message_downloads_ten_times_a_day(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    _, state = await decided(client, clock, token, invoice_xml())
    params = {"id": state.get("id_descarcare")}
    for _ in range(10):
        response = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
        assert response.headers["content-type"] == "application/zip"
    over = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
    assert over.status_code == 200
    assert over.json()["eroare"] == "S-au facut deja 10 descarcari de mesaj in cursul zilei"

    clock.advance(24 * 3600)  # the next day in Bucharest
    again = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
    assert again.headers["content-type"] == "application/zip"


async def test_a_message_answers_a_hundred_status_queries_a_day(
    client: httpx.AsyncClient, token: str
) -> None:
    index = await upload_index(client, token, invoice_xml())
    for _ in range(100):
        assert (await message_state(client, token, index)).get("stare") == "in prelucrare"
    over = await message_state(client, token, index)
    assert over.get("stare") is None
    assert error_messages(over)[0].startswith("S-au facut deja 100 ")


async def test_test_and_prod_keep_separate_messages(client: httpx.AsyncClient, token: str) -> None:
    index = await upload_index(client, token, invoice_xml())
    in_prod = await message_state(client, token, index, base="/prod/FCTEL/rest")
    assert error_messages(in_prod) == [f"Nu exista factura cu id_incarcare= {index}"]


# --- message lists ----------------------------------------------------------------------------


async def test_lists_show_sent_received_and_error_messages(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    ok_index, ok_state = await decided(client, clock, token, invoice_xml())
    nok_index, _ = await decided(client, clock, token, invoice_xml(seller_city="Bucuresti"))

    async def listing(cif: str, **params: str) -> dict[str, Any]:
        response = await client.get(
            f"{REST}/listaMesajeFactura",
            params={"zile": "1", "cif": cif, **params},
            headers=bearer(token),
        )
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    sent = await listing(SELLER_CIF, filtru="T")
    assert sent["cui"] == SELLER_CIF
    assert sent["titlu"] == "Lista Mesaje disponibile din ultimele 1 zile"
    assert sent["mesaje"] == [
        {
            "data_creare": "202601011200",
            "cif": SELLER_CIF,
            "id_solicitare": ok_index,
            "detalii": f"Factura cu id_incarcare={ok_index} emisa de cif_emitent={SELLER_CIF} "
            f"pentru cif_beneficiar={BUYER_CIF}",
            "tip": "FACTURA TRIMISA",
            "id": ok_state.get("id_descarcare"),
        }
    ]
    errors = await listing(SELLER_CIF, filtru="E")
    assert [row["id_solicitare"] for row in errors["mesaje"]] == [nok_index]
    received = await listing(BUYER_CIF)
    assert [row["tip"] for row in received["mesaje"]] == ["FACTURA PRIMITA"]

    assert (await listing(SELLER_CIF, filtru="X"))["eroare"] == (
        "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R"
    )
    assert (await listing("555", filtru="T"))["eroare"] == "Nu exista mesaje in ultimele 1 zile"
    too_many_days = await client.get(
        f"{REST}/listaMesajeFactura",
        params={"zile": "61", "cif": SELLER_CIF},
        headers=bearer(token),
    )
    assert too_many_days.json() == {
        "eroare": "Numarul de zile trebuie sa fie intre 1 si 60",
        "titlu": "Lista Mesaje",
    }


async def test_paged_list_answers_with_page_counters(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    start_ms = int(clock.now * 1000)
    await decided(client, clock, token, invoice_xml())
    clock.advance(60)
    page = await _first_page(client, token, start_ms, int(clock.now * 1000))
    assert page["numar_total_inregistrari"] == 1
    assert page["numar_total_pagini"] == 1
    assert page["index_pagina_curenta"] == 1
    assert page["mesaje"][0]["tip"] == "FACTURA TRIMISA"


async def _first_page(
    client: httpx.AsyncClient, token: str, start_ms: int, end_ms: int
) -> dict[str, Any]:
    """Page 1 of the seller's paginated message list between start_ms and end_ms."""
    response = await client.get(
        f"{REST}/listaMesajePaginatieFactura",
        params={
            "startTime": str(start_ms),
            "endTime": str(end_ms),
            "cif": SELLER_CIF,
            "pagina": "1",
        },
        headers=bearer(token),
    )
    page: dict[str, Any] = response.json()
    return page


# --- limits and faults ------------------------------------------------------------------------


async def test_per_minute_limit_answers_429(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    await client.put("/_sim/anaf/rate-limit", json={"requests_per_minute": 3})
    for _ in range(3):
        assert (
            await client.get(
                f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(token)
            )
        ).status_code == 200
    limited = await client.get(
        f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(token)
    )
    assert limited.status_code == 429
    assert limited.json()["message"].startswith("S-au facut deja 3 de apeluri")
    clock.advance(60)
    assert (
        await client.get(f"{REST}/stareMesaj", params={"id_incarcare": "1"}, headers=bearer(token))
    ).status_code == 200


async def test_queued_faults_hit_the_next_uploads(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    await client.post("/_sim/anaf/faults", json={"kind": "http_503", "count": 1})
    await client.post("/_sim/anaf/faults", json={"kind": "lost_response", "count": 1})
    await client.post("/_sim/anaf/faults", json={"kind": "not_taken", "count": 1})
    params = {"standard": "UBL", "cif": SELLER_CIF}

    unavailable = await client.post(
        f"{REST}/upload", params=params, content=invoice_xml(), headers=bearer(token)
    )
    assert unavailable.status_code == 503
    lost = await client.post(
        f"{REST}/upload", params=params, content=invoice_xml(), headers=bearer(token)
    )
    assert lost.status_code == 504
    not_taken_index = await upload_index(client, token, invoice_xml())

    clock.advance(PROCESSING_DELAY)
    messages = (await client.get("/_sim/anaf/messages")).json()
    # The lost response still registered its upload: a client must reconcile, not resend.
    assert [message["stare"] for message in messages] == ["ok", "XML cu erori nepreluat de sistem"]
    state = await message_state(client, token, not_taken_index)
    assert state.get("stare") == "XML cu erori nepreluat de sistem"
    assert state.get("id_descarcare") is None


async def test_control_endpoints_mint_tokens_and_end_delays(client: httpx.AsyncClient) -> None:
    minted = (await client.post("/_sim/anaf/tokens", json={"cifs": [SELLER_CIF]})).json()
    access_token = minted["access_token"]
    index = await upload_index(client, access_token, invoice_xml())
    decided_now = await client.post(f"/_sim/anaf/messages/{index}/decide")
    assert decided_now.json()["stare"] == "ok"
    assert (await message_state(client, access_token, index)).get("stare") == "ok"

    assert (await client.post("/_sim/anaf/reset")).status_code == 204
    assert (await client.get("/_sim/anaf/messages")).json() == []
    assert (await client.get("/healthz")).json() == {"status": "ok"}


# --- settings and process ---------------------------------------------------------------------


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_ANAF_PROCESSING_DELAY": "0.25", "GOVSIM_ANAF_CLIENT_ID": "app"}
    )
    assert settings.anaf_processing_delay == 0.25
    assert settings.anaf_client_id == "app"
    assert settings.anaf_client_secret == CLIENT_SECRET
    assert GovsimSettings.from_env({}).anaf_processing_delay == 2.0


# --- fidelity: standards, consent, SPV rights, the CIF's prefix, throttling -------------------


def credit_note_xml() -> bytes:
    """invoice_xml() as a UBL CreditNote (381): its root, type code, lines and quantities."""
    body = invoice_xml().decode()
    for invoice_name, credit_note_name in (
        ("xsd:Invoice-2", "xsd:CreditNote-2"),
        ("<Invoice ", "<CreditNote "),
        ("</Invoice>", "</CreditNote>"),
        ("cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode", "cbc:CreditNoteTypeCode>381</cbc:Cred"),
        ("InvoiceLine>", "CreditNoteLine>"),
        ("InvoicedQuantity", "CreditedQuantity"),
    ):
        body = body.replace(invoice_name, credit_note_name)
    body = body.replace("</cbc:Cred>", "</cbc:CreditNoteTypeCode>")
    return body.encode()


async def test_a_credit_note_is_taken_only_as_cn_and_an_invoice_only_as_ubl(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    for body, standard, element in (
        (credit_note_xml(), "UBL", "CreditNote"),
        (invoice_xml(), "CN", "Invoice"),
    ):
        refused = await upload(client, token, body, standard=standard)
        assert refused.get("ExecutionStatus") == "1"
        assert refused.get("index_incarcare") is None
        [message] = error_messages(refused)
        assert message.startswith("Fisierul transmis nu este valid. ")
        assert f"Cannot find the declaration of element '{element}'" in message
    assert (await client.get("/_sim/anaf/messages")).json() == []

    taken = await upload(client, token, credit_note_xml(), standard="CN")
    assert taken.get("ExecutionStatus") == "0", etree.tostring(taken)
    clock.advance(PROCESSING_DELAY)
    state = await message_state(client, token, str(taken.get("index_incarcare")))
    assert state.get("stare") == "ok", etree.tostring(state)


async def test_a_refused_esign_is_sent_back_as_access_denied(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sim/anaf/consents", json={"refuse": True})).status_code == 204
    query = await authorize_redirect(client, "s-1")
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["s-1"]
    assert "code" not in query
    # The refusal was for that authorization only: the next one is approved.
    assert await authorization_code(client, state="s-2")


async def test_spv_rights_are_per_cif_and_the_refusal_echoes_the_cif(
    client: httpx.AsyncClient,
) -> None:
    await client.post("/_sim/anaf/consents", json={"cifs": [BUYER_CIF]})
    token = await access_token_via_oauth(client)
    for given in (SELLER_CIF, f"RO{SELLER_CIF}"):
        refused = await upload(client, token, invoice_xml(), cif=given)
        assert error_messages(refused) == [f"Nu aveti drept in SPV pentru CIF={given}"]
        listed = await client.get(
            f"{REST}/listaMesajeFactura", params={"zile": "1", "cif": given}, headers=bearer(token)
        )
        assert listed.json()["eroare"] == f"Nu aveti drept in SPV pentru CIF={given}"
    assert (await client.get("/_sim/anaf/messages")).json() == []


async def test_the_cif_is_taken_with_or_without_its_ro_prefix(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    for given in (f"RO{SELLER_CIF}", f"ro {SELLER_CIF}"):
        answer = await upload(client, token, invoice_xml(), cif=given)
        assert answer.get("ExecutionStatus") == "0", etree.tostring(answer)
    clock.advance(PROCESSING_DELAY)
    messages = (await client.get("/_sim/anaf/messages")).json()
    assert [(m["cif"], m["stare"]) for m in messages] == [(SELLER_CIF, "ok")] * 2
    listed = await client.get(
        f"{REST}/listaMesajeFactura",
        params={"zile": "1", "cif": f"RO{SELLER_CIF}", "filtru": "T"},
        headers=bearer(token),
    )
    assert len(listed.json()["mesaje"]) == 2


async def test_past_the_per_minute_limit_the_429_says_when_to_come_back(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    await client.put("/_sim/anaf/rate-limit", json={"requests_per_minute": 2})
    params = {"id_incarcare": "1"}
    await client.get(f"{REST}/stareMesaj", params=params, headers=bearer(token))
    clock.advance(20)
    await client.get(f"{REST}/stareMesaj", params=params, headers=bearer(token))
    clock.advance(15)
    limited = await client.get(f"{REST}/stareMesaj", params=params, headers=bearer(token))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "25"  # when the first call leaves the minute
    body = limited.json()
    assert set(body) == {"timestamp", "status", "error", "message"}
    assert (body["status"], body["error"]) == (429, "Too Many Requests")
    assert (
        body["message"] == "S-au facut deja 2 de apeluri in ultimul minut. Reincercati mai tarziu."
    )
    clock.advance(25)
    again = await client.get(f"{REST}/stareMesaj", params=params, headers=bearer(token))
    assert again.status_code == 200


async def _decided_scenario_upload(
    client: httpx.AsyncClient, clock: FakeClock, token: str, scenario: str
) -> etree._Element:
    """The stareMesaj answer for an upload under `scenario`, once its processing is over."""
    response = await client.post(
        f"{REST}/upload",
        params={"standard": "UBL", "cif": SELLER_CIF},
        content=invoice_xml(),
        headers={**bearer(token), "X-Clearway-Sandbox-Scenario": scenario},
    )
    index = etree.fromstring(response.content).get("index_incarcare")
    assert index is not None, response.text
    clock.advance(PROCESSING_DELAY)
    return await message_state(client, token, index)


async def test_download_throttled_answers_429_eleven_times_without_spending_downloads(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    state = await _decided_scenario_upload(client, clock, token, "download_throttled")
    params = {"id": state.get("id_descarcare")}
    for _ in range(11):
        throttled = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
        assert throttled.status_code == 429
        assert throttled.headers["retry-after"] == "1"
        assert throttled.json()["message"].startswith("S-au facut deja ")
        # Back too early: throttled again, and no nearer the end of the throttling.
        early = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
        assert early.status_code == 429
        clock.advance(1)
    for _ in range(10):  # none of the 429s was one of the message's ten downloads of the day
        answer = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
        assert answer.headers["content-type"] == "application/zip"
    over = await client.get(f"{REST}/descarcare", params=params, headers=bearer(token))
    assert over.json()["eroare"].startswith("S-au facut deja 10 descarcari")


async def test_rejected_inline_says_nok_with_the_errors_and_nothing_to_download(
    client: httpx.AsyncClient, clock: FakeClock, token: str
) -> None:
    start_ms = int(clock.now * 1000)
    state = await _decided_scenario_upload(client, clock, token, "rejected_inline")
    assert state.get("stare") == "nok"
    assert state.get("id_descarcare") is None
    [error] = error_messages(state)
    assert error.startswith("[BR-RO-101]-")
    # Nothing to download: no message in the list either.
    clock.advance(60)
    listed = await _first_page(client, token, start_ms, int(clock.now * 1000))
    assert listed["eroare"] == "Nu exista mesaje in intervalul selectat"
