"""The KSeF 2.0 simulator, driven over HTTP as a client of the real system would drive it."""

from __future__ import annotations

import base64
import hashlib
import os
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from clearway.governments.pl.xades import sign_auth_token_request
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.padding import PKCS7
from ksef_client.services import crypto as sdk_crypto
from lxml import etree

from services.govsim.app import CountrySimulators, GovsimSettings
from services.govsim.pl.crypto import crc8
from services.govsim.pl.documents import verify_invoice
from services.govsim.pl.sessions import KsefSimulator
from tests.libs.security.certmaker import make_certificate, make_seal_certificate, pem_pair
from tests.services.govsim.simtools import HOSTILE_XML_IDS, FakeClock, govsim_client, hostile_xml

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

API = "/v2"
CONTROL = "/_sim/pl"
SELLER_NIP = "5265877635"
BUYER_NIP = "7010000005"
OTHER_NIP = "9510000009"
PROCESSING_DELAY = 4.0
AUTH_DELAY = 0.5
FA3_NS = "http://crd.gov.pl/wzor/2025/06/25/13775/"
UPO_NS = {"u": "http://upo.schematy.mf.gov.pl/KSeF/v4-2"}
XMLDSIG_NS = {"ds": "http://www.w3.org/2000/09/xmldsig#"}


def fa3_invoice(
    *,
    seller_nip: str = SELLER_NIP,
    number: str = "FV/2026/06/0001",
    issue_date: str = "2026-06-01",
    kind: str = "VAT",
    extra_fa: str = "",
    trailer: str = "",
) -> bytes:
    """A minimal FA(3) invoice that passes the XSD; the defaults make it valid."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Faktura xmlns="{FA3_NS}">
  <Naglowek>
    <KodFormularza kodSystemowy="FA (3)" wersjaSchemy="1-0E">FA</KodFormularza>
    <WariantFormularza>3</WariantFormularza>
    <DataWytworzeniaFa>2026-06-01T09:00:00Z</DataWytworzeniaFa>
    <SystemInfo>Clearway</SystemInfo>
  </Naglowek>
  <Podmiot1>
    <DaneIdentyfikacyjne><NIP>{seller_nip}</NIP><Nazwa>Sprzedawca sp. z o.o.</Nazwa>
    </DaneIdentyfikacyjne>
    <Adres><KodKraju>PL</KodKraju><AdresL1>ul. Prosta 1, 00-001 Warszawa</AdresL1></Adres>
  </Podmiot1>
  <Podmiot2>
    <DaneIdentyfikacyjne><NIP>{BUYER_NIP}</NIP><Nazwa>Nabywca S.A.</Nazwa>
    </DaneIdentyfikacyjne>
    <Adres><KodKraju>PL</KodKraju><AdresL1>ul. Krzywa 2, 30-001 Krakow</AdresL1></Adres>
    <JST>2</JST>
    <GV>2</GV>
  </Podmiot2>
  <Fa>
    <KodWaluty>PLN</KodWaluty>
    <P_1>{issue_date}</P_1>
    <P_2>{number}</P_2>{extra_fa}
    <P_13_1>100.00</P_13_1>
    <P_14_1>23.00</P_14_1>
    <P_15>123.00</P_15>
    <Adnotacje>
      <P_16>2</P_16><P_17>2</P_17><P_18>2</P_18><P_18A>2</P_18A>
      <Zwolnienie><P_19N>1</P_19N></Zwolnienie>
      <NoweSrodkiTransportu><P_22N>1</P_22N></NoweSrodkiTransportu>
      <P_23>2</P_23>
      <PMarzy><P_PMarzyN>1</P_PMarzyN></PMarzy>
    </Adnotacje>
    <RodzajFaktury>{kind}</RodzajFaktury>
    <FaWiersz>
      <NrWierszaFa>1</NrWierszaFa>
      <P_7>Usluga doradcza</P_7>
      <P_8A>szt</P_8A>
      <P_8B>1</P_8B>
      <P_9A>100.00</P_9A>
      <P_11>100.00</P_11>
      <P_12>23</P_12>
    </FaWiersz>
  </Fa>{trailer}
</Faktura>
""".encode()


# --- a small KSeF client, written from the documentation ---------------------------------------


def oaep_encrypt(certificate_b64: str, data: bytes) -> str:
    public_key = x509.load_der_x509_certificate(base64.b64decode(certificate_b64)).public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    ciphertext = public_key.encrypt(
        data,
        padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
    )
    return base64.b64encode(ciphertext).decode()


def aes_encrypt(data: bytes, key: bytes, iv: bytes) -> bytes:
    padder = PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    return encryptor.update(padder.update(data) + padder.finalize()) + encryptor.finalize()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_open_session(
    http: httpx.AsyncClient,
    access_token: str,
    encryption: dict[str, Any],
    *,
    system_code: str = "FA (3)",
) -> httpx.Response:
    """POST /sessions/online with this encryption info and form (FA (3) unless said), answered
    as it comes."""
    return await http.post(
        f"{API}/sessions/online",
        headers=bearer(access_token),
        json={
            "formCode": {"systemCode": system_code, "schemaVersion": "1-0E", "value": "FA"},
            "encryption": encryption,
        },
    )


class Ksef:
    """The steps of the documented flow, with the simulator's clock at hand."""

    def __init__(self, http: httpx.AsyncClient, clock: FakeClock) -> None:
        self.http = http
        self.clock = clock
        self.key = os.urandom(32)
        self.iv = os.urandom(16)

    async def certificate(self, usage: str) -> dict[str, Any]:
        response = await self.http.get(f"{API}/security/public-key-certificates")
        assert response.status_code == 200
        entries: list[dict[str, Any]] = response.json()
        [entry] = [item for item in entries if usage in item["usage"]]
        return entry

    async def register_token(self, nip: str = SELLER_NIP) -> str:
        response = await self.http.post(f"{CONTROL}/ksef-tokens", json={"nip": nip})
        assert response.status_code == 201
        token: str = response.json()["token"]
        return token

    async def start_auth(
        self, ksef_token: str, *, nip: str = SELLER_NIP, timestamp_shift: int = 0
    ) -> dict[str, Any]:
        challenge = (await self.http.post(f"{API}/auth/challenge")).json()
        certificate = await self.certificate("KsefTokenEncryption")
        plaintext = f"{ksef_token}|{challenge['timestampMs'] + timestamp_shift}".encode()
        response = await self.http.post(
            f"{API}/auth/ksef-token",
            json={
                "challenge": challenge["challenge"],
                "contextIdentifier": {"type": "Nip", "value": nip},
                "encryptedToken": oaep_encrypt(certificate["certificate"], plaintext),
            },
        )
        assert response.status_code == 202, response.text
        started: dict[str, Any] = response.json()
        return started

    async def auth_status(self, started: dict[str, Any]) -> dict[str, Any]:
        response = await self.http.get(
            f"{API}/auth/{started['referenceNumber']}",
            headers=bearer(started["authenticationToken"]["token"]),
        )
        assert response.status_code == 200, response.text
        status: dict[str, Any] = response.json()["status"]
        return status

    async def login(self, nip: str = SELLER_NIP) -> dict[str, Any]:
        started = await self.start_auth(await self.register_token(nip), nip=nip)
        self.clock.advance(AUTH_DELAY)
        assert (await self.auth_status(started))["code"] == 200
        response = await self.http.post(
            f"{API}/auth/token/redeem", headers=bearer(started["authenticationToken"]["token"])
        )
        assert response.status_code == 200, response.text
        tokens: dict[str, Any] = response.json()
        return tokens

    async def open_session(self, access_token: str, *, encrypted_key: str | None = None) -> str:
        certificate = await self.certificate("SymmetricKeyEncryption")
        response = await post_open_session(
            self.http,
            access_token,
            {
                "encryptedSymmetricKey": encrypted_key
                or oaep_encrypt(certificate["certificate"], self.key),
                "initializationVector": base64.b64encode(self.iv).decode(),
            },
        )
        assert response.status_code == 201, response.text
        reference: str = response.json()["referenceNumber"]
        return reference

    def invoice_body(self, invoice: bytes, *, key: bytes | None = None) -> dict[str, Any]:
        encrypted = aes_encrypt(invoice, key or self.key, self.iv)
        return {
            "invoiceHash": sha256_b64(invoice),
            "invoiceSize": len(invoice),
            "encryptedInvoiceHash": sha256_b64(encrypted),
            "encryptedInvoiceSize": len(encrypted),
            "encryptedInvoiceContent": base64.b64encode(encrypted).decode(),
            "offlineMode": False,
        }

    async def send(
        self, access_token: str, session: str, invoice: bytes, **overrides: Any
    ) -> httpx.Response:
        body = self.invoice_body(invoice) | overrides
        return await self.http.post(
            f"{API}/sessions/online/{session}/invoices", headers=bearer(access_token), json=body
        )

    async def send_ok(self, access_token: str, session: str, invoice: bytes) -> str:
        response = await self.send(access_token, session, invoice)
        assert response.status_code == 202, response.text
        reference: str = response.json()["referenceNumber"]
        return reference

    async def invoice_status(
        self, access_token: str, session: str, invoice_reference: str
    ) -> dict[str, Any]:
        response = await self.http.get(
            f"{API}/sessions/{session}/invoices/{invoice_reference}", headers=bearer(access_token)
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def final_status(self, access_token: str, invoice: bytes) -> dict[str, Any]:
        session = await self.open_session(access_token)
        reference = await self.send_ok(access_token, session, invoice)
        self.clock.advance(PROCESSING_DELAY)
        return await self.invoice_status(access_token, session, reference)


# --- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def simulator(clock: FakeClock) -> KsefSimulator:
    simulator = KsefSimulator(processing_delay=PROCESSING_DELAY, clock=clock)
    simulator.auth.auth_delay = AUTH_DELAY
    return simulator


@pytest.fixture
async def http(simulator: KsefSimulator) -> AsyncIterator[httpx.AsyncClient]:
    async with govsim_client(CountrySimulators(ksef=simulator)) as client:
        yield client


@pytest.fixture
def ksef(http: httpx.AsyncClient, clock: FakeClock) -> Ksef:
    return Ksef(http, clock)


@pytest.fixture
async def access_token(ksef: Ksef) -> str:
    token: str = (await ksef.login())["accessToken"]["token"]
    return token


def exception_codes(response: httpx.Response) -> list[int]:
    return [
        detail["exceptionCode"] for detail in response.json()["exception"]["exceptionDetailList"]
    ]


# --- the whole flow ----------------------------------------------------------------------------


async def test_public_keys_and_challenge_have_the_documented_shape(http: httpx.AsyncClient) -> None:
    keys = (await http.get(f"{API}/security/public-key-certificates")).json()
    assert {usage for entry in keys for usage in entry["usage"]} == {
        "KsefTokenEncryption",
        "SymmetricKeyEncryption",
    }
    for entry in keys:
        der = base64.b64decode(entry["certificate"])
        assert entry["certificateId"] == sha256_b64(der)
        assert set(entry) == {
            "certificate",
            "certificateId",
            "publicKeyId",
            "validFrom",
            "validTo",
            "usage",
        }
    challenge = (await http.post(f"{API}/auth/challenge")).json()
    assert set(challenge) >= {"challenge", "timestamp", "timestampMs"}
    assert len(challenge["challenge"]) == 36


async def test_token_login_then_redeem_once(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    started = await ksef.start_auth(await ksef.register_token())
    assert len(started["referenceNumber"]) == 36
    assert (await ksef.auth_status(started)) == {
        "code": 100,
        "description": "Uwierzytelnianie w toku",
    }
    clock.advance(AUTH_DELAY)
    assert (await ksef.auth_status(started)) == {
        "code": 200,
        "description": "Uwierzytelnianie zakończone sukcesem",
    }
    operation_token = started["authenticationToken"]["token"]
    redeemed = await http.post(f"{API}/auth/token/redeem", headers=bearer(operation_token))
    assert redeemed.status_code == 200
    assert set(redeemed.json()) == {"accessToken", "refreshToken"}
    again = await http.post(f"{API}/auth/token/redeem", headers=bearer(operation_token))
    assert again.status_code == 400
    assert again.json()["exception"]["exceptionDetailList"][0]["exceptionCode"]
    state = await http.get(
        f"{API}/auth/{started['referenceNumber']}", headers=bearer(operation_token)
    )
    assert state.json()["isTokenRedeemed"] is True


async def test_invoice_is_processed_then_accepted_with_a_ksef_number_and_upo(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    assert session[9:11] == "SO"
    invoice = fa3_invoice()
    reference = await ksef.send_ok(access_token, session, invoice)
    first = await ksef.invoice_status(access_token, session, reference)
    assert first["status"] == {
        "code": 100,
        "description": "Faktura przyjęta do dalszego przetwarzania",
    }
    assert first["invoiceHash"] == sha256_b64(invoice)
    clock.advance(PROCESSING_DELAY / 2)
    assert (await ksef.invoice_status(access_token, session, reference))["status"]["code"] == 150
    clock.advance(PROCESSING_DELAY / 2)
    done = await ksef.invoice_status(access_token, session, reference)
    assert done["status"] == {"code": 200, "description": "Sukces"}
    assert done["invoiceNumber"] == "FV/2026/06/0001"
    number = done["ksefNumber"]
    assert number.startswith(f"{SELLER_NIP}-20260601-")
    assert len(number) == 35
    assert number[-2:] == f"{crc8(number[:-3].encode()):02X}"

    upo_response = await http.get(
        f"{API}/sessions/{session}/invoices/{reference}/upo", headers=bearer(access_token)
    )
    assert upo_response.status_code == 200
    assert upo_response.headers["content-type"].startswith("application/xml")
    upo = etree.fromstring(upo_response.content)
    assert upo.findtext("u:NumerReferencyjnySesji", namespaces=UPO_NS) == session
    assert upo.findtext("u:Dokument/u:NumerKSeFDokumentu", namespaces=UPO_NS) == number
    assert upo.findtext("u:Dokument/u:SkrotDokumentu", namespaces=UPO_NS) == sha256_b64(invoice)
    digest = upo.find("ds:Signature/ds:SignedInfo/ds:Reference/ds:DigestValue", XMLDSIG_NS)
    assert digest is not None
    by_number = await http.get(
        f"{API}/sessions/{session}/invoices/ksef/{number}/upo", headers=bearer(access_token)
    )
    assert by_number.status_code == 200


async def test_closed_session_is_processed_then_offers_the_collective_upo(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    await ksef.send_ok(access_token, session, fa3_invoice())

    async def status() -> dict[str, Any]:
        response = await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))
        assert response.status_code == 200
        body: dict[str, Any] = response.json()
        return body

    assert (await status())["status"] == {"code": 100, "description": "Sesja interaktywna otwarta"}
    close = await http.post(f"{API}/sessions/online/{session}/close", headers=bearer(access_token))
    assert close.status_code == 204
    assert (await status())["status"] == {
        "code": 170,
        "description": "Sesja interaktywna zamknięta",
    }
    clock.advance(PROCESSING_DELAY)
    processed = await status()
    assert processed["status"]["code"] == 200
    assert processed["invoiceCount"] == processed["successfulInvoiceCount"] == 1
    assert processed["failedInvoiceCount"] == 0
    [page] = processed["upo"]["pages"]
    session_upo = await http.get(page["downloadUrl"], headers=bearer(access_token))
    assert session_upo.status_code == 200
    documents = etree.fromstring(session_upo.content).findall("u:Dokument", namespaces=UPO_NS)
    assert len(documents) == 1


async def test_the_ksef_client_sdk_crypto_interoperates(ksef: Ksef, access_token: str) -> None:
    """The ksef-client package's own encryption helpers are accepted as they are."""
    certificate = await ksef.certificate("SymmetricKeyEncryption")
    encryption = sdk_crypto.build_encryption_data(
        certificate["certificate"], public_key_id=certificate["publicKeyId"]
    )
    assert encryption.encryption_info is not None
    ksef.key, ksef.iv = encryption.key, encryption.iv
    response = await post_open_session(
        ksef.http, access_token, encryption.encryption_info.to_dict()
    )
    assert response.status_code == 201, response.text
    session = response.json()["referenceNumber"]
    request = sdk_crypto.build_send_invoice_request(fa3_invoice(), encryption.key, encryption.iv)
    sent = await ksef.http.post(
        f"{API}/sessions/online/{session}/invoices",
        headers=bearer(access_token),
        json=request.to_dict(),
    )
    assert sent.status_code == 202, sent.text
    ksef.clock.advance(PROCESSING_DELAY)
    status = await ksef.invoice_status(access_token, session, sent.json()["referenceNumber"])
    assert status["status"]["code"] == 200


# --- tokens ------------------------------------------------------------------------------------


async def test_access_token_expires_and_the_refresh_token_mints_a_new_one(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    tokens = await ksef.login()
    access = tokens["accessToken"]["token"]
    assert (
        await http.get(
            f"{API}/sessions/20260601-SO-0000000000-0000000000-00", headers=bearer(access)
        )
    ).status_code == 400
    clock.advance(15 * 60)
    expired = await http.get(f"{API}/sessions/x", headers=bearer(access))
    assert expired.status_code == 401
    assert expired.headers["content-type"].startswith("application/problem+json")
    assert expired.json()["status"] == 401

    refresh = tokens["refreshToken"]["token"]
    refreshed = await http.post(f"{API}/auth/token/refresh", headers=bearer(refresh))
    assert refreshed.status_code == 200
    new_access = refreshed.json()["accessToken"]["token"]
    assert new_access != access
    await ksef.open_session(new_access)
    # The refresh token works again, until its seven days are over.
    assert (
        await http.post(f"{API}/auth/token/refresh", headers=bearer(refresh))
    ).status_code == 200
    clock.advance(7 * 24 * 3600)
    assert (
        await http.post(f"{API}/auth/token/refresh", headers=bearer(refresh))
    ).status_code == 401
    # An access token is no refresh token.
    assert (
        await http.post(f"{API}/auth/token/refresh", headers=bearer(new_access))
    ).status_code == 401


async def test_expire_control_ends_a_token_now(ksef: Ksef, http: httpx.AsyncClient) -> None:
    tokens = await ksef.login()
    access = tokens["accessToken"]["token"]
    assert (await http.post(f"{CONTROL}/tokens/expire", json={"token": access})).status_code == 204
    assert (await http.get(f"{API}/sessions/x", headers=bearer(access))).status_code == 401


@pytest.mark.parametrize(
    ("case", "expected_code", "expected_detail"),
    [
        ("unknown_token", 450, "Nieprawidłowy token"),
        ("wrong_timestamp", 450, "Nieprawidłowy czas tokena"),
        ("revoked", 450, "Token unieważniony"),
        ("other_nip", 415, "Brak przypisanych uprawnień"),
    ],
)
async def test_failed_token_logins_show_the_documented_statuses(
    *,
    ksef: Ksef,
    http: httpx.AsyncClient,
    clock: FakeClock,
    case: str,
    expected_code: int,
    expected_detail: str,
) -> None:
    token = await ksef.register_token()
    if case == "unknown_token":
        token = "not-a-registered-token"  # noqa: S105 -- deliberately wrong
    if case == "revoked":
        await http.post(f"{CONTROL}/ksef-tokens/revoke", json={"token": token})
    started = await ksef.start_auth(
        token,
        nip=OTHER_NIP if case == "other_nip" else SELLER_NIP,
        timestamp_shift=1 if case == "wrong_timestamp" else 0,
    )
    clock.advance(AUTH_DELAY)
    status = await ksef.auth_status(started)
    assert status["code"] == expected_code
    assert status["details"] == [expected_detail]
    redeem = await http.post(
        f"{API}/auth/token/redeem", headers=bearer(started["authenticationToken"]["token"])
    )
    assert redeem.status_code == 400


async def test_auth_request_refusals_come_back_as_exception_bodies(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    token = await ksef.register_token()
    certificate = await ksef.certificate("KsefTokenEncryption")
    challenge = (await http.post(f"{API}/auth/challenge")).json()
    body = {
        "challenge": challenge["challenge"],
        "contextIdentifier": {"type": "Nip", "value": SELLER_NIP},
        "encryptedToken": oaep_encrypt(
            certificate["certificate"], f"{token}|{challenge['timestampMs']}".encode()
        ),
    }
    unknown_key = await http.post(f"{API}/auth/ksef-token", json=body | {"publicKeyId": "AAAA"})
    assert unknown_key.status_code == 400
    assert exception_codes(unknown_key) == [21470]
    assert (await http.post(f"{API}/auth/ksef-token", json=body)).status_code == 202
    reused = await http.post(
        f"{API}/auth/ksef-token", json=body, headers={"X-Error-Format": "problem-details"}
    )
    assert reused.status_code == 400
    assert reused.headers["content-type"].startswith("application/problem+json")
    assert reused.json()["errors"][0]["code"] == 21405

    clock.advance(601)
    late = (await http.post(f"{API}/auth/challenge")).json()
    clock.advance(601)
    expired = await http.post(
        f"{API}/auth/ksef-token", json=body | {"challenge": late["challenge"]}
    )
    assert expired.status_code == 400
    malformed = await http.post(f"{API}/auth/ksef-token", json={"challenge": "x"})
    assert malformed.status_code == 400
    assert exception_codes(malformed) == [21405]
    not_a_nip = await http.post(
        f"{API}/auth/ksef-token",
        json=body | {"contextIdentifier": {"type": "Nip", "value": "0123"}},
    )
    assert not_a_nip.status_code == 400


async def test_protected_calls_need_a_valid_access_token(http: httpx.AsyncClient) -> None:
    for headers in ({}, bearer("nope")):
        response = await http.post(f"{API}/sessions/online", headers=headers, json={})
        assert response.status_code == 401
        assert response.json()["title"] == "Unauthorized"
    status = await http.get(f"{API}/auth/20260601-AU-0000000000-0000000000-00", headers=bearer("x"))
    assert status.status_code == 401


# --- invoice verdicts --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("invoice", "code", "detail_fragment"),
    [
        (fa3_invoice(number=""), 450, "P_2"),
        (fa3_invoice(seller_nip=OTHER_NIP), 410, OTHER_NIP),
        (fa3_invoice(issue_date="2026-06-02"), 450, "P_1"),
        (
            fa3_invoice(trailer="<Zalacznik><BlokDanych/></Zalacznik>"),
            415,
            "sesji wsadowej",
        ),
        (b"<Faktura><unclosed></Faktura>", 430, "XML"),
    ],
    ids=["schema", "foreign-seller", "future-issue-date", "attachment", "not-well-formed"],
)
async def test_each_failing_check_ends_the_invoice_in_its_status(
    ksef: Ksef, access_token: str, invoice: bytes, code: int, detail_fragment: str
) -> None:
    status = (await ksef.final_status(access_token, invoice))["status"]
    assert status["code"] == code
    assert any(detail_fragment in detail for detail in status["details"]), status
    assert "ksefNumber" not in status


async def test_duplicate_invoice_is_440_with_the_original_in_extensions(
    ksef: Ksef, access_token: str
) -> None:
    first = await ksef.final_status(access_token, fa3_invoice())
    second = await ksef.final_status(access_token, fa3_invoice())
    assert second["status"]["code"] == 440
    assert second["status"]["description"] == "Duplikat faktury"
    assert second["status"]["extensions"]["originalKsefNumber"] == first["ksefNumber"]
    # Another kind (RodzajFaktury) with the same number is another invoice.
    correction = fa3_invoice(kind="ZAL")
    assert (await ksef.final_status(access_token, correction))["status"]["code"] == 200


async def test_metadata_and_encryption_mismatches(
    ksef: Ksef, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    invoice = fa3_invoice()
    wrong_hash = await ksef.send(access_token, session, invoice, invoiceHash=sha256_b64(b"other"))
    wrong_size = await ksef.send(access_token, session, invoice, encryptedInvoiceSize=1)
    wrong_key = await ksef.http.post(
        f"{API}/sessions/online/{session}/invoices",
        headers=bearer(access_token),
        json=ksef.invoice_body(invoice, key=os.urandom(32)),
    )
    clock.advance(PROCESSING_DELAY)
    codes = [
        (await ksef.invoice_status(access_token, session, response.json()["referenceNumber"]))[
            "status"
        ]["code"]
        for response in (wrong_hash, wrong_size, wrong_key)
    ]
    assert codes[:2] == [430, 430]
    assert codes[2] in {435, 430}  # a wrong key fails the padding, or rarely yields garbage XML

    failed = await ksef.http.get(
        f"{API}/sessions/{session}/invoices/failed", headers=bearer(access_token)
    )
    assert len(failed.json()["invoices"]) == 3


async def test_a_session_key_that_does_not_decrypt(
    ksef: Ksef, access_token: str, clock: FakeClock
) -> None:
    certificate = await ksef.certificate("SymmetricKeyEncryption")
    session = await ksef.open_session(
        access_token, encrypted_key=oaep_encrypt(certificate["certificate"], b"short key")
    )
    reference = await ksef.send_ok(access_token, session, fa3_invoice())
    clock.advance(PROCESSING_DELAY)
    assert (await ksef.invoice_status(access_token, session, reference))["status"]["code"] == 405
    status = (await ksef.http.get(f"{API}/sessions/{session}", headers=bearer(access_token))).json()
    assert status["status"] == {
        "code": 415,
        "description": "Błąd odszyfrowania dostarczonego klucza",
    }


async def test_forced_outcome_control(ksef: Ksef, access_token: str) -> None:
    queued = await ksef.http.post(
        f"{CONTROL}/invoice-outcomes", json={"code": 550, "details": ["Spróbuj ponownie"]}
    )
    assert queued.status_code == 200
    status = (await ksef.final_status(access_token, fa3_invoice()))["status"]
    assert status == {
        "code": 550,
        "description": "Operacja została anulowana przez system",
        "details": ["Spróbuj ponownie"],
    }
    refused = await ksef.http.post(f"{CONTROL}/invoice-outcomes", json={"code": 200})
    assert refused.status_code == 422


# --- sessions ----------------------------------------------------------------------------------


async def test_session_refusals(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    unknown = await ksef.send(access_token, "20260601-SO-0000000000-0000000000-00", fa3_invoice())
    assert unknown.status_code == 400
    assert exception_codes(unknown) == [21173]

    session = await ksef.open_session(access_token)
    await http.post(f"{API}/sessions/online/{session}/close", headers=bearer(access_token))
    closed = await ksef.send(access_token, session, fa3_invoice())
    assert exception_codes(closed) == [21180]
    again = await http.post(f"{API}/sessions/online/{session}/close", headers=bearer(access_token))
    assert again.status_code == 400
    clock.advance(PROCESSING_DELAY)
    empty = (await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))).json()
    assert empty["status"] == {
        "code": 440,
        "description": "Sesja anulowana",
        "details": ["Nie przesłano faktur"],
    }

    other = (await ksef.login(OTHER_NIP))["accessToken"]["token"]
    foreign = await http.get(f"{API}/sessions/{session}", headers=bearer(other))
    assert exception_codes(foreign) == [21173]

    bad_form = await post_open_session(
        http,
        access_token,
        {"encryptedSymmetricKey": "AA==", "initializationVector": "AA=="},
        system_code="FA (2)",
    )
    assert exception_codes(bad_form) == [21405]


async def test_a_session_closes_itself_after_twelve_hours(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    tokens = await ksef.login()
    access = tokens["accessToken"]["token"]
    session = await ksef.open_session(access)
    await ksef.send_ok(access, session, fa3_invoice())
    clock.advance(12 * 3600 + PROCESSING_DELAY)
    refreshed = await http.post(
        f"{API}/auth/token/refresh", headers=bearer(tokens["refreshToken"]["token"])
    )
    access = refreshed.json()["accessToken"]["token"]
    assert exception_codes(await ksef.send(access, session, fa3_invoice(number="2"))) == [21180]
    status = (await http.get(f"{API}/sessions/{session}", headers=bearer(access))).json()
    assert status["status"]["code"] == 200


async def test_an_open_session_takes_many_invoices_each_with_its_upo_before_it_closes(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    """What sending a seller's invoices in one session rests on: each is decided and has its
    own UPO while the session stays open (the collective UPO waits for the close)."""
    session = await ksef.open_session(access_token)
    references = [
        await ksef.send_ok(access_token, session, fa3_invoice(number=f"FV/{n}")) for n in range(3)
    ]
    clock.advance(PROCESSING_DELAY)
    for reference in references:
        status = await ksef.invoice_status(access_token, session, reference)
        assert status["status"]["code"] == 200
        upo = await http.get(
            f"{API}/sessions/{session}/invoices/{reference}/upo", headers=bearer(access_token)
        )
        assert upo.status_code == 200
        assert status["ksefNumber"].encode() in upo.content
    state = (await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))).json()
    assert state["status"]["code"] == 100
    assert state["invoiceCount"] == state["successfulInvoiceCount"] == 3
    assert "upo" not in state
    listed = await http.get(f"{API}/sessions/{session}/invoices", headers=bearer(access_token))
    assert [i["referenceNumber"] for i in listed.json()["invoices"]] == references


async def test_a_send_into_a_session_past_its_valid_until_is_refused_with_its_status(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    await ksef.send_ok(access_token, session, fa3_invoice())
    expired = await http.post(f"{CONTROL}/sessions/{session}/expire")
    assert expired.status_code == 200
    assert expired.json()["open"] is False
    refused = await ksef.send(access_token, session, fa3_invoice(number="2"))
    assert refused.status_code == 400
    [detail] = refused.json()["exception"]["exceptionDetailList"]
    assert detail["exceptionCode"] == 21180
    assert detail["details"] == ["Status sesji (170) uniemożliwia wysyłkę faktur."]
    clock.advance(PROCESSING_DELAY)
    status = (await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))).json()
    assert status["status"]["code"] == 200  # closed at validUntil: the collective UPO follows
    unknown = await http.post(f"{CONTROL}/sessions/20260601-SO-0000000000-0000000000-00/expire")
    assert unknown.status_code == 404


async def test_a_session_under_maintenance_refuses_sends_with_21184(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str
) -> None:
    session = await ksef.open_session(access_token)
    put = await http.put(f"{CONTROL}/sessions/{session}/unavailable", json={"value": True})
    assert put.status_code == 204
    refused = await ksef.send(access_token, session, fa3_invoice())
    assert exception_codes(refused) == [21184]
    [detail] = refused.json()["exception"]["exceptionDetailList"]
    assert "otwórz nową sesję" in detail["details"][0]
    other = await ksef.open_session(access_token)
    await ksef.send_ok(access_token, other, fa3_invoice())
    await http.put(f"{CONTROL}/sessions/{session}/unavailable", json={"value": False})
    await ksef.send_ok(access_token, session, fa3_invoice(number="2"))


# --- limits, faults, hostile XML ---------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    limit = await http.put(f"{CONTROL}/rate-limits/invoiceSend", json={"per_minute": 2})
    assert limit.status_code == 204
    for number in ("A1", "A2"):
        await ksef.send_ok(access_token, session, fa3_invoice(number=number))
    clock.advance(10)
    limited = await ksef.send(access_token, session, fa3_invoice(number="A3"))
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "50"
    assert limited.json()["status"]["code"] == 429
    assert "2 żądań na minutę" in limited.json()["status"]["details"][0]
    as_problem = await http.post(
        f"{API}/sessions/online/{session}/invoices",
        headers=bearer(access_token) | {"X-Error-Format": "problem-details"},
        json=ksef.invoice_body(fa3_invoice(number="A3")),
    )
    assert as_problem.status_code == 429
    assert as_problem.json()["title"] == "Too Many Requests"
    clock.advance(50)
    await ksef.send_ok(access_token, session, fa3_invoice(number="A3"))


@pytest.mark.parametrize("payload", hostile_xml("Faktura", FA3_NS), ids=HOSTILE_XML_IDS)
async def test_hostile_xml_is_refused_without_expansion(
    ksef: Ksef, access_token: str, payload: bytes
) -> None:
    status = (await ksef.final_status(access_token, payload))["status"]
    assert status["code"] == 430
    assert "DOCTYPE" in status["details"][0]
    assert "root:" not in str(status)
    assert len(str(status)) < 500


async def test_injected_faults_hit_the_next_calls(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str, clock: FakeClock
) -> None:
    session = await ksef.open_session(access_token)
    await http.post(f"{CONTROL}/faults", json={"kind": "http_503", "path_contains": "/invoices"})
    await http.post(
        f"{CONTROL}/faults",
        json={"kind": "http_429", "retry_after_seconds": 7, "path_contains": "/invoices"},
    )
    await http.post(f"{CONTROL}/faults", json={"kind": "http_500", "path_contains": "/invoices"})
    await http.post(
        f"{CONTROL}/faults", json={"kind": "lost_response", "path_contains": "/invoices"}
    )
    assert len((await http.get(f"{CONTROL}/faults")).json()["pending"]) == 4

    # A call elsewhere is untouched by faults aimed at /invoices.
    assert (
        await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))
    ).status_code == 200
    assert (await ksef.send(access_token, session, fa3_invoice())).status_code == 503
    throttled = await ksef.send(access_token, session, fa3_invoice())
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == "7"
    assert (await ksef.send(access_token, session, fa3_invoice())).status_code == 500
    lost = await ksef.send(access_token, session, fa3_invoice())
    assert lost.status_code == 504

    # The lost response still filed the invoice: a client reconciles through the session list.
    clock.advance(PROCESSING_DELAY)
    listed = await http.get(f"{API}/sessions/{session}/invoices", headers=bearer(access_token))
    [only] = listed.json()["invoices"]
    assert only["status"]["code"] == 200
    assert (await http.get(f"{CONTROL}/faults")).json()["pending"] == []


async def test_reset_and_decide_controls(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str
) -> None:
    session = await ksef.open_session(access_token)
    reference = await ksef.send_ok(access_token, session, fa3_invoice())
    decided = await http.post(f"{CONTROL}/invoices/{reference}/decide")
    assert decided.json()["code"] == 200
    assert (await ksef.invoice_status(access_token, session, reference))["status"]["code"] == 200
    assert len((await http.get(f"{CONTROL}/sessions")).json()) == 1
    assert (await http.put(f"{CONTROL}/processing-delay", json={"seconds": 0})).status_code == 204
    assert (await http.post(f"{CONTROL}/reset")).status_code == 204
    assert (await http.get(f"{CONTROL}/sessions")).json() == []
    assert (
        await http.get(f"{API}/sessions/{session}", headers=bearer(access_token))
    ).status_code == 401


def test_settings_read_the_environment() -> None:
    settings = GovsimSettings.from_env(
        {"GOVSIM_PL_PROCESSING_DELAY": "0.5", "GOVSIM_PL_ACCESS_TOKEN_MINUTES": "3"}
    )
    assert settings.pl_processing_delay == 0.5
    assert settings.pl_access_token_minutes == 3


async def test_invoice_lists_page_with_a_continuation_token(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str
) -> None:
    session = await ksef.open_session(access_token)
    for number in range(11):
        await ksef.send_ok(access_token, session, fa3_invoice(number=f"P{number}"))
    first = (
        await http.get(f"{API}/sessions/{session}/invoices", headers=bearer(access_token))
    ).json()
    assert len(first["invoices"]) == 10
    second = await http.get(
        f"{API}/sessions/{session}/invoices",
        headers=bearer(access_token) | {"x-continuation-token": first["continuationToken"]},
    )
    assert [invoice["ordinalNumber"] for invoice in second.json()["invoices"]] == [11]
    assert "continuationToken" not in second.json()
    bad = await http.get(
        f"{API}/sessions/{session}/invoices",
        headers=bearer(access_token) | {"x-continuation-token": "nope"},
    )
    assert exception_codes(bad) == [21418]


async def test_send_and_open_request_refusals(
    ksef: Ksef, http: httpx.AsyncClient, access_token: str
) -> None:
    session = await ksef.open_session(access_token)
    offline = await ksef.send(access_token, session, fa3_invoice(), offlineMode=True)
    assert exception_codes(offline) == [21405]
    not_base64 = await ksef.send(access_token, session, fa3_invoice(), encryptedInvoiceContent="@@")
    assert exception_codes(not_base64) == [21405]
    short_hash = await ksef.send(access_token, session, fa3_invoice(), invoiceHash="abc")
    assert exception_codes(short_hash) == [21405]
    bad_iv = await post_open_session(
        http, access_token, {"encryptedSymmetricKey": "AA==", "initializationVector": "AAAA"}
    )
    assert exception_codes(bad_iv) == [21405]
    unknown_key = await post_open_session(
        http,
        access_token,
        {
            "encryptedSymmetricKey": "AA==",
            "initializationVector": base64.b64encode(bytes(16)).decode(),
            "publicKeyId": "not-ours",
        },
    )
    assert exception_codes(unknown_key) == [21470]


def test_an_invoice_over_one_mebibyte_is_430() -> None:
    verdict = verify_invoice(
        b" " * (1024 * 1024 + 1), context_nip=SELLER_NIP, received_on=date(2026, 6, 1)
    )
    assert verdict.code == 430


# --- XAdES login (POST /auth/xades-signature) --------------------------------------------------


def seal(
    clock: FakeClock, nip: str = SELLER_NIP, *, rsa_key: bool = False, valid_days: float = 365
) -> tuple[bytes, bytes]:
    """A company seal (organizationIdentifier VATPL-<nip>) valid around the simulator's clock."""
    now = datetime.fromtimestamp(clock.now, UTC)
    certificate, key = make_seal_certificate(
        nip,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=valid_days),
        rsa_key=rsa_key,
    )
    return pem_pair(certificate, key)


async def signed_request(
    http: httpx.AsyncClient,
    clock: FakeClock,
    pair: tuple[bytes, bytes],
    *,
    nip: str = SELLER_NIP,
    challenge: str | None = None,
) -> bytes:
    if challenge is None:
        challenge = (await http.post(f"{API}/auth/challenge")).json()["challenge"]
    return sign_auth_token_request(
        challenge, nip, *pair, now=datetime.fromtimestamp(clock.now, UTC)
    )


async def post_xades(http: httpx.AsyncClient, document: bytes) -> httpx.Response:
    return await http.post(
        f"{API}/auth/xades-signature",
        content=document,
        headers={"Content-Type": "application/xml"},
    )


def exception_details(response: httpx.Response) -> list[str]:
    return [
        text
        for detail in response.json()["exception"]["exceptionDetailList"]
        for text in detail["details"]
    ]


@pytest.mark.parametrize("rsa_key", [False, True], ids=["ecdsa", "rsa"])
async def test_xades_login_with_a_company_seal_then_redeem(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock, *, rsa_key: bool
) -> None:
    response = await post_xades(
        http, await signed_request(http, clock, seal(clock, rsa_key=rsa_key))
    )
    assert response.status_code == 202, response.text
    started = response.json()
    assert len(started["referenceNumber"]) == 36
    assert (await ksef.auth_status(started))["code"] == 100
    clock.advance(AUTH_DELAY)
    state = await http.get(
        f"{API}/auth/{started['referenceNumber']}",
        headers=bearer(started["authenticationToken"]["token"]),
    )
    assert state.json()["status"] == {
        "code": 200,
        "description": "Uwierzytelnianie zakończone sukcesem",
    }
    assert state.json()["authenticationMethod"] == "QualifiedSeal"
    redeemed = await http.post(
        f"{API}/auth/token/redeem", headers=bearer(started["authenticationToken"]["token"])
    )
    assert redeemed.status_code == 200, redeemed.text
    access_token = redeemed.json()["accessToken"]["token"]
    assert await ksef.open_session(access_token)  # the context is the seal's NIP


async def test_the_ksef_client_sdk_xades_signature_is_accepted(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    """An independent signer (the SDK's, on xmlsec) against the simulator's verifier. xmlsec is
    always installed: peppol-py, a dependency, requires it."""
    from ksef_client.services.auth import build_auth_token_request_xml  # noqa: PLC0415
    from ksef_client.services.xades import sign_xades_enveloped  # noqa: PLC0415

    certificate_pem, key_pem = seal(clock, rsa_key=True)
    challenge = (await http.post(f"{API}/auth/challenge")).json()["challenge"]
    unsigned = build_auth_token_request_xml(
        challenge=challenge, context_identifier_type="nip", context_identifier_value=SELLER_NIP
    )
    signed = sign_xades_enveloped(unsigned, certificate_pem.decode(), key_pem.decode())
    response = await post_xades(http, signed.encode())
    assert response.status_code == 202, response.text
    clock.advance(AUTH_DELAY)
    assert (await ksef.auth_status(response.json()))["code"] == 200


def _tamper_nip(document: bytes) -> bytes:
    return document.replace(f"<Nip>{SELLER_NIP}</Nip>".encode(), f"<Nip>{OTHER_NIP}</Nip>".encode())


def _tamper_signing_time(document: bytes) -> bytes:
    root = etree.fromstring(document)
    [signing_time] = root.iter("{http://uri.etsi.org/01903/v1.3.2#}SigningTime")
    signing_time.text = "2020-01-01T00:00:00+00:00"
    return etree.tostring(root)


def _without_signature(document: bytes) -> bytes:
    root = etree.fromstring(document)
    [signature] = root.findall("ds:Signature", namespaces=XMLDSIG_NS)
    root.remove(signature)
    return etree.tostring(root)


def _signing_pair(case: str, clock: FakeClock, good: tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    """The certificate and key a refusal case signs with (the good seal unless the case is
    about the key or the certificate)."""
    now = datetime.fromtimestamp(clock.now, UTC)

    def seal_valid(start: timedelta, end: timedelta) -> tuple[bytes, bytes]:
        certificate = make_seal_certificate(SELLER_NIP, not_before=now + start, not_after=now + end)
        return pem_pair(*certificate)

    if case == "wrong_key":
        return good[0], seal(clock)[1]
    if case == "expired_certificate":
        return seal_valid(-timedelta(days=30), -timedelta(seconds=1))
    if case == "not_yet_valid_certificate":
        return seal_valid(timedelta(hours=1), timedelta(days=30))
    if case == "no_nip_in_subject":
        return pem_pair(*make_certificate(not_before=now - timedelta(days=1)))
    return good


@pytest.mark.parametrize(
    ("case", "code", "detail"),
    [
        ("tampered_document", 9105, "Nieprawidłowa wartość skrótu dla referencji wskazującej"),
        ("tampered_signed_properties", 9105, "'#SignedProperties'"),
        ("wrong_key", 9105, "Podpis zweryfikowany negatywnie."),
        ("expired_certificate", 21115, "Nieważny certyfikat"),
        ("not_yet_valid_certificate", 21115, "Nieważny certyfikat"),
        ("no_nip_in_subject", 21115, "nie zawiera NIP ani PESEL"),
        ("no_signature", 9102, ""),
        ("unknown_challenge", 21405, "jest nieprawidłowy, wygasł lub został już użyty"),
    ],
)
async def test_xades_refusals_are_specific_and_change_nothing(
    http: httpx.AsyncClient, clock: FakeClock, case: str, code: int, detail: str
) -> None:
    good = seal(clock)
    challenge = (await http.post(f"{API}/auth/challenge")).json()["challenge"]
    pair = _signing_pair(case, clock, good)
    document = await signed_request(
        http,
        clock,
        pair,
        challenge="20260601-CR-0000000000-0000000000-00"
        if case == "unknown_challenge"
        else challenge,
    )
    if case == "tampered_document":
        document = _tamper_nip(document)
    if case == "tampered_signed_properties":
        document = _tamper_signing_time(document)
    if case == "no_signature":
        document = _without_signature(document)

    refused = await post_xades(http, document)
    assert refused.status_code == 400, refused.text
    assert exception_codes(refused) == [code]
    assert detail in " ".join(exception_details(refused))
    # Nothing was used up: the same challenge still logs in with a good signature.
    retried = await post_xades(http, await signed_request(http, clock, good, challenge=challenge))
    assert retried.status_code == 202, retried.text


async def test_xades_challenges_are_used_once_and_expire(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    pair = seal(clock)
    document = await signed_request(http, clock, pair)
    assert (await post_xades(http, document)).status_code == 202
    reused = await post_xades(http, document)
    assert reused.status_code == 400
    assert exception_codes(reused) == [21405]

    late = await signed_request(http, clock, pair)
    clock.advance(601)
    expired = await post_xades(http, late)
    assert expired.status_code == 400
    assert "wygasł" in " ".join(exception_details(expired))


async def test_a_seal_of_another_nip_has_no_permissions_in_this_context(
    ksef: Ksef, http: httpx.AsyncClient, clock: FakeClock
) -> None:
    response = await post_xades(http, await signed_request(http, clock, seal(clock, OTHER_NIP)))
    assert response.status_code == 202, response.text
    clock.advance(AUTH_DELAY)
    status = await ksef.auth_status(response.json())
    assert status == {
        "code": 415,
        "description": "Uwierzytelnianie zakończone niepowodzeniem",
        "details": ["Brak przypisanych uprawnień"],
    }
    redeem = await http.post(
        f"{API}/auth/token/redeem",
        headers=bearer(response.json()["authenticationToken"]["token"]),
    )
    assert redeem.status_code == 400


async def test_xades_needs_xml_and_refuses_hostile_xml(
    http: httpx.AsyncClient, clock: FakeClock
) -> None:
    document = await signed_request(http, clock, seal(clock))
    as_json = await http.post(
        f"{API}/auth/xades-signature",
        content=document,
        headers={"Content-Type": "application/json"},
    )
    assert as_json.status_code == 415
    for payload in hostile_xml("AuthTokenRequest", "http://ksef.mf.gov.pl/auth/token/2.0"):
        refused = await post_xades(http, payload)
        assert refused.status_code == 400
        assert exception_codes(refused) == [21001]
        assert "root:" not in refused.text
    not_auth = await post_xades(http, b"<Faktura/>")
    assert exception_codes(not_auth) == [21405]
