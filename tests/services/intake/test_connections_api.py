"""/v1/connections against the running stack and the government simulators: the RO OAuth flow
as a browser goes through it, IT certificates, the PL KSeF challenge flow, BE/DE/FR network
identifiers, deletion, isolation between accounts, and secrets kept out of answers and logs."""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any

import asyncpg
import httpx
import pytest
from clearway.domain.connections import SecretKind
from clearway.domain.ids import iso_millis

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of
from tests.libs.security.certmaker import (
    make_certificate,
    make_seal_certificate,
    pem_bundle,
    pkcs12_bundle,
)
from tests.services.connections_support import (
    authorize_at_anaf,
    connect_ro,
    connection_events,
    connection_row,
    new_company,
    open_callback,
    plain_secrets,
    query_of,
    secret_rows,
    stack_keyring,
    start_connection,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

SEED_FIELDS = {"id", "companyId", "countryCode", "status", "tokenExpiresAt", "lastErrorMessage"}


async def test_ro_authorization_url_leads_to_an_active_connection_and_connection_active(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    company_id = await new_company(client, "RO")
    pending = await start_connection(client, company_id, "RO")

    assert pending["status"] == "pending_setup"
    assert pending["tokenExpiresAt"] is None
    assert pending["lastErrorMessage"] is None
    assert pending["companyId"] == company_id
    assert pending["countryCode"] == "RO"
    assert pending["isSender"] is True
    assert pending["isReceiver"] is True
    assert "networkCredentials" not in pending  # RO uses no network identifier
    assert pending["refreshTokenExpiresAt"] is None  # no consent given yet
    url = pending["authorizationUrl"]
    assert url.startswith(f"{stack.govsim_url}/anaf-oauth2/v1/authorize?")
    assert query_of(url) == {
        "response_type": "code",
        "client_id": "clearway-sandbox",
        "redirect_uri": f"{stack.api_url}/v1/callbacks/anaf",
        "state": pending["id"],
        "token_content_type": "jwt",
    }

    callback = await authorize_at_anaf(url)
    assert callback.startswith(f"{stack.api_url}/v1/callbacks/anaf?")
    assert query_of(callback)["state"] == pending["id"]
    answer = await open_callback(callback)
    assert answer.status_code == 200, answer.text
    active = answer.json()["data"]
    assert active["id"] == pending["id"]
    assert active["status"] == "active"
    assert "authorizationUrl" not in active
    expires = dt.datetime.fromisoformat(active["tokenExpiresAt"])
    assert abs(expires - (dt.datetime.now(dt.UTC) + dt.timedelta(days=90))) < dt.timedelta(
        minutes=5
    )

    # ANAF's consent (its refresh token) ends as stored; the dashboard warns before it does.
    stored = await connection_row(db, pending["id"])
    assert active["refreshTokenExpiresAt"] == iso_millis(stored["refresh_token_expires_at"])
    consent_ends = dt.datetime.fromisoformat(active["refreshTokenExpiresAt"])
    assert consent_ends - expires > dt.timedelta(days=200)

    fetched = (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]
    assert fetched == active
    assert SEED_FIELDS | {
        "createdAt",
        "isSender",
        "isReceiver",
        "livemode",
        "refreshTokenExpiresAt",
    } == set(fetched)
    assert fetched["livemode"] is False  # made with a sandbox key

    events = await connection_events(stack, pending["id"], {"connection.active"})
    (event,) = events["connection.active"]
    assert event["accountId"] == (await connection_row(db, pending["id"]))["account_id"]
    assert event["companyId"] == company_id
    assert event["countryCode"] == "RO"
    assert event["status"] == "active"

    # Sealed at rest: the rows hold neither token, and they open only with the master key.
    opened = await plain_secrets(db, stack_keyring(stack), pending["id"])
    assert set(opened) == {SecretKind.ACCESS_TOKEN, SecretKind.REFRESH_TOKEN}
    for row in await secret_rows(db, pending["id"]):
        assert row["master_key_id"] == "test-1"
        for value in opened.values():
            assert value.encode() not in row["ciphertext"]
            assert value.encode() not in row["wrapped_key"]

    # An active connection for the company and country is returned as it is.
    again = await client.post(
        "/v1/connections", json={"companyId": company_id, "countryCode": "RO"}
    )
    assert again.status_code == 200
    assert again.json()["data"] == active


async def test_wrong_reused_or_foreign_state_is_refused_and_changes_nothing(
    stack: Stack, make_account: MakeAccount, db: asyncpg.Pool[Any]
) -> None:
    _, alice = await make_account()
    _, bob = await make_account()
    pending = await start_connection(alice, await new_company(alice, "RO"), "RO")
    callback = await authorize_at_anaf(pending["authorizationUrl"])
    code = query_of(callback)["code"]
    bobs = await connect_ro(bob, await new_company(bob, "RO"))
    bobs_it = await start_connection(bob, await new_company(bob, "IT"), "IT")
    before = {
        c: (await connection_row(db, c), await secret_rows(db, c))
        for c in (pending["id"], bobs["id"], bobs_it["id"])
    }

    base = f"{stack.api_url}/v1/callbacks/anaf"
    for state in ("conn_unknown", bobs["id"], bobs_it["id"], ""):
        answer = await open_callback(f"{base}?code={code}&state={state}")
        assert answer.status_code in {400, 404}, (state, answer.text)
        assert answer.json()["error"]["type"] in {"not_found", "validation_error"}
    assert (await open_callback(f"{base}?code={code}")).status_code == 400  # no state at all
    for connection_id, (row, secrets) in before.items():
        assert await connection_row(db, connection_id) == row
        assert await secret_rows(db, connection_id) == secrets

    assert (await open_callback(callback)).status_code == 200
    used = (await connection_row(db, pending["id"]), await secret_rows(db, pending["id"]))
    replay = await open_callback(callback)
    assert replay.status_code == 404
    assert "already used" in replay.json()["error"]["message"]
    assert (await connection_row(db, pending["id"]), await secret_rows(db, pending["id"])) == used

    # A deleted connection's authorization is dead too.
    doomed = await start_connection(alice, await new_company(alice, "RO", vatNumber="RO999"), "RO")
    doomed_callback = await authorize_at_anaf(doomed["authorizationUrl"])
    assert (await alice.delete(f"/v1/connections/{doomed['id']}")).status_code == 200
    assert (await open_callback(doomed_callback)).status_code == 404
    assert await secret_rows(db, doomed["id"]) == []


async def test_anaf_refusing_the_code_is_reported_on_the_connection(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    pending = await start_connection(client, await new_company(client, "RO"), "RO")
    declined = f"{stack.api_url}/v1/callbacks/anaf?error=access_denied&state={pending['id']}"
    answer = await open_callback(declined)
    assert answer.status_code == 400
    assert "access_denied" in answer.json()["error"]["message"]
    fetched = (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]
    assert fetched["status"] == "error"
    assert "access_denied" in fetched["lastErrorMessage"]

    # Starting again gives a new authorization for the same connection, which works.
    again = await start_connection(client, pending["companyId"], "RO")
    assert again["id"] == pending["id"]
    assert again["status"] == "pending_setup"
    answer = await open_callback(await authorize_at_anaf(again["authorizationUrl"]))
    assert answer.json()["data"]["status"] == "active"
    assert answer.json()["data"]["lastErrorMessage"] is None


async def test_400_and_404_as_the_seed(make_account: MakeAccount) -> None:
    _, client = await make_account()
    _, other = await make_account()
    company_id = await new_company(client, "RO")
    foreign_company = await new_company(other, "RO")

    cases: list[tuple[dict[str, Any], int, str | None]] = [
        ({"countryCode": "RO"}, 400, "/companyId"),
        ({"companyId": company_id}, 400, "/countryCode"),
        ({"companyId": company_id, "countryCode": "XX"}, 400, "/countryCode"),
        (
            {"companyId": company_id, "countryCode": "RO", "isSender": False, "isReceiver": False},
            400,
            "/isSender",
        ),
        ({"companyId": foreign_company, "countryCode": "RO"}, 404, "/companyId"),
        ({"companyId": "comp_missing", "countryCode": "RO"}, 404, "/companyId"),
        ({"companyId": company_id, "countryCode": "PL"}, 400, "/companyId"),  # no Polish NIP
    ]
    for body, status, param in cases:
        answer = await client.post("/v1/connections", json=body)
        assert answer.status_code == status, (body, answer.text)
        error = answer.json()["error"]
        assert error["type"] == ("not_found" if status == 404 else "validation_error")
        assert error["param"] == param, (body, error)
    assert (await client.post("/v1/connections", content=b"{not json")).status_code == 400
    assert (await client.get("/v1/connections")).json() == {"data": []}  # nothing was made
    for method in ("GET", "DELETE"):
        answer = await client.request(method, "/v1/connections/conn_missing")
        assert answer.status_code == 404
        assert answer.json()["error"]["type"] == "not_found"


async def test_two_accounts_cannot_see_or_use_each_others_connections(
    make_account: MakeAccount, db: asyncpg.Pool[Any], seed_invoice: dict[str, Any]
) -> None:
    _, alice = await make_account()
    _, bob = await make_account()
    company_id = await new_company(alice, "RO")
    connection = await connect_ro(alice, company_id)
    path = f"/v1/connections/{connection['id']}"

    assert (await bob.get(path)).status_code == 404
    assert (await bob.get("/v1/connections")).json() == {"data": []}
    assert (await bob.delete(path)).status_code == 404
    assert (
        await bob.post(f"{path}/certificate", json={"format": "pem", "certificate": "x"})
    ).status_code == 404
    assert (await bob.post(f"{path}/ksef-token", json={"token": "x"})).status_code == 404
    answer = await bob.post("/v1/connections", json={"companyId": company_id, "countryCode": "RO"})
    assert answer.status_code == 404
    # Nor file with it: an invoice naming Alice's company is refused for Bob.
    answer = await bob.post("/v1/invoices", json={**seed_invoice, "companyId": company_id})
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "/companyId"

    assert (await alice.get(path)).json()["data"]["status"] == "active"
    assert [c["id"] for c in (await alice.get("/v1/connections")).json()["data"]] == [
        connection["id"]
    ]
    assert len(await secret_rows(db, connection["id"])) == 2


async def test_delete_purges_the_secrets(client: httpx.AsyncClient, db: asyncpg.Pool[Any]) -> None:
    company_id = await new_company(client, "RO")
    connection = await connect_ro(client, company_id)
    assert len(await secret_rows(db, connection["id"])) == 2

    answer = await client.delete(f"/v1/connections/{connection['id']}")
    assert answer.status_code == 200
    assert answer.json() == {"data": {"id": connection["id"], "deleted": True}}

    assert await secret_rows(db, connection["id"]) == []  # deleted, not hidden
    row = await connection_row(db, connection["id"])
    assert row["status"] == "deleted"
    assert row["deleted_at"] is not None
    assert row["next_refresh_at"] is None
    async with db.acquire() as conn:
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM oauth_states WHERE connection_id = $1", connection["id"]
            )
            == 0
        )
    assert (await client.get(f"/v1/connections/{connection['id']}")).status_code == 404
    assert (await client.get("/v1/connections")).json() == {"data": []}
    assert (await client.delete(f"/v1/connections/{connection['id']}")).status_code == 404

    # Connecting again makes a new connection.
    fresh = await start_connection(client, company_id, "RO")
    assert fresh["id"] != connection["id"]

    # Deleting the company deletes its connections' secrets as well.
    other = await connect_ro(client, await new_company(client, "RO", vatNumber="RO777"))
    assert (await client.delete(f"/v1/companies/{other['companyId']}")).status_code == 200
    assert await secret_rows(db, other["id"]) == []
    assert (await connection_row(db, other["id"]))["status"] == "deleted"


async def test_it_takes_the_sdi_certificate_pem_or_pkcs12(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    pending = await start_connection(client, await new_company(client, "IT"), "IT")
    assert pending["status"] == "pending_setup"
    assert "authorizationUrl" not in pending
    instructions = pending["setupInstructions"]
    assert any("Sistema di Interscambio" in step for step in instructions["steps"])
    upload = instructions["uploadUrl"]
    assert upload == f"{stack.api_url}/v1/connections/{pending['id']}/certificate"

    certificate, key = make_certificate()
    _, other_key = make_certificate()
    refusals = [
        {"format": "pem", "certificate": "not a certificate"},
        {"format": "pem", "certificate": pem_bundle(certificate, other_key).decode()},
        {"format": "pkcs12", "certificate": "***"},
        {
            "format": "pkcs12",
            "certificate": base64.b64encode(pkcs12_bundle(certificate, key, b"pw")).decode(),
            "password": "wrong",
        },
    ]
    for body in refusals:
        answer = await client.post(upload, json=body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["error"]["param"] == "/certificate"
    assert (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]["status"] == (
        "pending_setup"
    )

    answer = await client.post(
        upload, json={"format": "pem", "certificate": pem_bundle(certificate, key).decode()}
    )
    assert answer.status_code == 200, answer.text
    active = answer.json()["data"]
    assert active["status"] == "active"
    assert active["tokenExpiresAt"] == iso_millis(certificate.not_valid_after_utc)
    assert {r["kind"] for r in await secret_rows(db, pending["id"])} == {
        "certificate",
        "private_key",
    }
    assert "connection.active" in await connection_events(
        stack, pending["id"], {"connection.active"}
    )

    # A renewed certificate, as PKCS#12 with a password, replaces the first.
    renewed, renewed_key = make_certificate(
        not_after=dt.datetime.now(dt.UTC).replace(microsecond=0) + dt.timedelta(days=700)
    )
    p12 = base64.b64encode(pkcs12_bundle(renewed, renewed_key, b"p12")).decode()
    answer = await client.post(
        upload, json={"format": "pkcs12", "certificate": p12, "password": "p12"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["tokenExpiresAt"] == iso_millis(renewed.not_valid_after_utc)

    ro = await start_connection(client, await new_company(client, "RO"), "RO")
    answer = await client.post(
        f"/v1/connections/{ro['id']}/certificate", json={"format": "pem", "certificate": "x"}
    )
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "/id"


def _assert_ksef_session_active(answer: httpx.Response) -> None:
    """The answer activated the connection; its tokenExpiresAt is that of the KSeF access token
    (minutes), whether the login was by KSeF token or by certificate."""
    active = data_of(answer)
    assert active["status"] == "active"
    assert active["lastErrorMessage"] is None
    assert active["refreshTokenExpiresAt"] is None  # KSeF's refresher signs in afresh
    expires = dt.datetime.fromisoformat(active["tokenExpiresAt"])
    assert dt.timedelta(minutes=5) < expires - dt.datetime.now(dt.UTC) < dt.timedelta(minutes=20)


async def test_pl_runs_the_ksef_challenge_flow_with_the_companys_token(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    pending = await start_connection(client, await new_company(client, "PL"), "PL")
    assert pending["status"] == "pending_setup"
    upload = pending["setupInstructions"]["uploadUrl"]
    assert upload.endswith(f"/v1/connections/{pending['id']}/ksef-token")
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        registered = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})
        token = registered.json()["token"]
        other_nip = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "7010000005"})

    wrong = await client.post(upload, json={"token": other_nip.json()["token"]})
    assert wrong.status_code == 400, wrong.text
    assert "415" in wrong.json()["error"]["message"]  # KSeF: no permissions for this NIP
    refused = (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]
    assert refused["status"] == "pending_setup"
    assert "415" in refused["lastErrorMessage"]

    answer = await client.post(upload, json={"token": token})
    _assert_ksef_session_active(answer)
    opened = await plain_secrets(db, stack_keyring(stack), pending["id"])
    assert opened[SecretKind.KSEF_TOKEN] == token
    assert set(opened) == {SecretKind.KSEF_TOKEN, SecretKind.ACCESS_TOKEN, SecretKind.REFRESH_TOKEN}
    row = await connection_row(db, pending["id"])
    assert row["refresh_token_expires_at"] - row["token_expires_at"] > dt.timedelta(days=6)
    assert "connection.active" in await connection_events(
        stack, pending["id"], {"connection.active"}
    )


async def test_pl_connects_with_a_certificate_carrying_the_nip(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    """The XAdES path: a company seal (organizationIdentifier VATPL-<NIP>) signs KSeF's
    challenge; refusals leave the connection pending with the reason."""
    pending = await start_connection(client, await new_company(client, "PL"), "PL")
    steps = " ".join(pending["setupInstructions"]["steps"])
    assert "/certificate" in steps
    assert "VATPL-<NIP>" in steps
    upload = f"/v1/connections/{pending['id']}/certificate"

    other_nip, other_key = make_seal_certificate("7010000005")
    wrong = await client.post(
        upload, json={"format": "pem", "certificate": pem_bundle(other_nip, other_key).decode()}
    )
    assert wrong.status_code == 400, wrong.text
    assert wrong.json()["error"]["param"] == "/certificate"
    assert "415" in wrong.json()["error"]["message"]  # KSeF: no permissions for this NIP
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    expired, expired_key = make_seal_certificate(
        "5265877635", not_before=now - dt.timedelta(days=30), not_after=now - dt.timedelta(days=1)
    )
    refused = await client.post(
        upload, json={"format": "pem", "certificate": pem_bundle(expired, expired_key).decode()}
    )
    assert refused.status_code == 400
    assert "expired" in refused.json()["error"]["message"]
    unsigned, _ = make_certificate(common_name="no NIP")
    _, stray_key = make_seal_certificate("5265877635")
    mismatched = await client.post(
        upload, json={"format": "pem", "certificate": pem_bundle(unsigned, stray_key).decode()}
    )
    assert mismatched.status_code == 400
    still = (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]
    assert still["status"] == "pending_setup"
    assert "415" in still["lastErrorMessage"]
    assert await secret_rows(db, pending["id"]) == []

    certificate, key = make_seal_certificate("5265877635")
    answer = await client.post(
        upload, json={"format": "pem", "certificate": pem_bundle(certificate, key).decode()}
    )
    _assert_ksef_session_active(answer)
    opened = await plain_secrets(db, stack_keyring(stack), pending["id"])
    assert set(opened) == {
        SecretKind.CERTIFICATE,
        SecretKind.PRIVATE_KEY,
        SecretKind.ACCESS_TOKEN,
        SecretKind.REFRESH_TOKEN,
    }
    assert "BEGIN CERTIFICATE" in opened[SecretKind.CERTIFICATE]
    key_body = opened[SecretKind.PRIVATE_KEY].splitlines()[1]
    assert key_body not in answer.text
    assert key_body not in (await client.get(f"/v1/connections/{pending['id']}")).text
    row = await connection_row(db, pending["id"])
    assert row["refresh_token_expires_at"] - row["token_expires_at"] > dt.timedelta(days=6)
    assert "connection.active" in await connection_events(
        stack, pending["id"], {"connection.active"}
    )

    # A KSeF token connected later replaces the certificate: one credential logs in again.
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        token = (await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})).json()
    answer = await client.post(
        f"/v1/connections/{pending['id']}/ksef-token", json={"token": token["token"]}
    )
    assert answer.status_code == 200, answer.text
    opened = await plain_secrets(db, stack_keyring(stack), pending["id"])
    assert SecretKind.KSEF_TOKEN in opened
    assert SecretKind.CERTIFICATE not in opened
    assert SecretKind.PRIVATE_KEY not in opened


SCENARIO = "X-Clearway-Sandbox-Scenario"


async def _registered(sim: httpx.AsyncClient) -> set[str]:
    """The participant ids registered in the simulated SMP (it lists any well-formed one)."""
    answer = await sim.get("/_sim/peppol/participants")
    assert answer.status_code == 200, answer.text
    return {p["participantId"] for p in answer.json()["participants"]}


async def test_be_de_fr_register_the_companys_identifier(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    expected = {
        "BE": {"identifier": "0123456749", "scheme": "0208"},
        "DE": {"identifier": "DE123456789", "scheme": "9930"},
        "FR": {"identifier": "303265045", "scheme": "0002"},
    }
    # The simulated access point's API key (GovsimSettings.peppol_api_key).
    peppol = {"Authorization": "Bearer clearway-sandbox-peppol"}
    async with httpx.AsyncClient(base_url=stack.govsim_url, headers=peppol) as sim:
        for country, credentials in expected.items():
            connection = await start_connection(client, await new_company(client, country), country)
            assert connection["status"] == "active", connection
            assert connection["networkCredentials"] == credentials
            assert connection["tokenExpiresAt"] is None
            fetched = (await client.get(f"/v1/connections/{connection['id']}")).json()["data"]
            assert fetched["networkCredentials"] == credentials
            participant = f"{credentials['scheme']}:{credentials['identifier']}"
            # The sandbox SMP lists every well-formed id: whether the connection published one
            # shows in what was registered, and (with `receiver_unknown` for the others) in it.
            unlisted = {} if country != "FR" else {SCENARIO: "receiver_unknown"}
            published = await sim.get(
                f"/peppol/smp/iso6523-actorid-upis::{participant}", headers=unlisted
            )
            # BE and DE travel over Peppol: published in the SMP. FR's directory is recorded.
            assert published.status_code == (404 if country == "FR" else 200), country
            assert (participant in await _registered(sim)) is (country != "FR"), country
            events = await connection_events(stack, connection["id"], {"connection.active"})
            assert "connection.active" in events

        # A sender only needs no SMP entry; a malformed number is refused by the network.
        # (A number no other test lists in the session's SMP: they share one simulator.)
        sender = await start_connection(
            client,
            await new_company(client, "BE", vatNumber="BE0712345630"),
            "BE",
            isReceiver=False,
        )
        assert sender["status"] == "active"
        assert sender["isReceiver"] is False
        assert "0208:0712345630" not in await _registered(sim)
        unlisted = {SCENARIO: "receiver_unknown"}
        assert (await sim.get("/peppol/smp/0208:0712345630", headers=unlisted)).status_code == 404
    refused = await start_connection(
        client, await new_company(client, "BE", vatNumber="BE0123456700"), "BE"
    )
    assert refused["status"] == "error"
    assert "0208:0123456700" in refused["lastErrorMessage"]


async def test_secrets_never_appear_in_answers_or_logs(
    stack: Stack, client: httpx.AsyncClient, db: asyncpg.Pool[Any]
) -> None:
    ro = await connect_ro(client, await new_company(client, "RO"))
    pl = await start_connection(client, await new_company(client, "PL"), "PL")
    async with httpx.AsyncClient(base_url=stack.govsim_url) as sim:
        token = (await sim.post("/_sim/pl/ksef-tokens", json={"nip": "5265877635"})).json()
    answer = await client.post(
        f"/v1/connections/{pl['id']}/ksef-token", json={"token": token["token"]}
    )
    assert answer.status_code == 200
    it = await start_connection(client, await new_company(client, "IT"), "IT")
    certificate, key = make_certificate()
    answer = await client.post(
        f"/v1/connections/{it['id']}/certificate",
        json={
            "format": "pem",
            "certificate": pem_bundle(certificate, key, password=b"pw").decode(),
            "password": "pw",
        },
    )
    assert answer.status_code == 200

    keyring = stack_keyring(stack)
    secrets: list[str] = []
    for connection_id in (ro["id"], pl["id"], it["id"]):
        opened = await plain_secrets(db, keyring, connection_id)
        for kind, value in opened.items():
            # A PEM's base64 body, not its header lines (which every PEM shares).
            secrets.append(value.splitlines()[1] if kind is SecretKind.PRIVATE_KEY else value)
    assert len(secrets) == 7

    answers = [
        (await client.get("/v1/connections")).text,
        *[(await client.get(f"/v1/connections/{c}")).text for c in (ro["id"], pl["id"], it["id"])],
    ]
    logs = {path.name: path.read_text(errors="replace") for path in stack.log_dir.glob("*.log")}
    assert "intake.log" in logs
    for secret in secrets:
        for text in answers:
            assert secret not in text
        for name, text in logs.items():
            assert secret not in text, f"a secret is in {name}"
    assert stack.master_keys.split("=", 1)[1] not in "".join(logs.values())
