"""The `clearway` command as a user runs it (a subprocess of the venv's script, configured from
the environment) against the API-only stack."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clearway_client import Clearway
from clearway_client.cli.config import ConfigError, credentials

from services.stack.stack import Stack
from tests.clients.python.conftest import key_of, seed_invoice_body
from tests.conftest import MakeAccount
from tests.services.connections_support import authorize_at_anaf, open_callback

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]

CLEARWAY = str(Path(sys.executable).with_name("clearway"))


def _env(stack: Stack, key: str | None = None) -> dict[str, str]:
    return {
        **os.environ,
        "CLEARWAY_API_URL": stack.api_url,
        "CLEARWAY_API_KEY": key or stack.api_key,
    }


def _run(stack: Stack, *args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLEARWAY, *args],
        env=_env(stack, key),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _write(path: Path, body: dict[str, Any]) -> str:
    path.write_text(json.dumps(body))
    return str(path)


# 17 significant digits: as a float it reads back as …445 and its net rounds to …45, not …44.
LONG_PRICE = "1234567890123.44499"


def _long_decimal_invoice() -> str:
    """An invoice's JSON with LONG_PRICE written as a JSON number, as a user's file has it."""
    line = {"description": "Exact", "quantity": 1, "unitPrice": "PRICE", "vatRate": 19}
    return json.dumps(seed_invoice_body(lines=[line])).replace('"PRICE"', LONG_PRICE)


def test_create_get_events_list_and_the_error_exit_codes(api_stack: Stack, tmp_path: Path) -> None:
    body = seed_invoice_body()
    created = _run(
        api_stack, "invoices", "create", "-f", _write(tmp_path / "i.json", body), "--json"
    )
    assert created.returncode == 0, created.stderr
    invoice = json.loads(created.stdout)
    assert invoice["externalId"] == body["externalId"]
    assert invoice["grossAmount"] == "6188.00"

    got = _run(api_stack, "invoices", "get", invoice["id"])
    assert got.returncode == 0
    assert got.stdout.split()[:2] == [invoice["id"], "created"]
    events = _run(api_stack, "invoices", "events", invoice["id"], "--json")
    assert [e["event"] for e in json.loads(events.stdout)] == ["invoice.created"]
    listed = _run(api_stack, "invoices", "list", "--status", "created", "--country", "RO", "--json")
    assert listed.returncode == 0
    assert invoice["id"] in {i["id"] for i in json.loads(listed.stdout)}

    # A document not made yet: the API's 404, as JSON on stderr, exit 1.
    missing = _run(api_stack, "invoices", "document", invoice["id"], "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stderr)["error"]["type"] == "not_found"

    # The same key again with another body: 409, named.
    key_args = ("--idempotency-key", f"cli-{invoice['id']}")
    path = _write(tmp_path / "k.json", body)
    assert _run(api_stack, "invoices", "create", "-f", path, *key_args).returncode == 0
    other = _write(tmp_path / "o.json", seed_invoice_body())
    conflict = _run(api_stack, "invoices", "create", "-f", other, *key_args)
    assert conflict.returncode == 1
    assert "conflict_error" in conflict.stderr

    stranger = _run(api_stack, "invoices", "list", key="sk_test_nobody")
    assert stranger.returncode == 1
    assert "authentication_error" in stranger.stderr
    nobody = subprocess.run(
        [CLEARWAY, "invoices", "list"],
        env={k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert nobody.returncode == 2
    assert "CLEARWAY_API_KEY" in nobody.stderr


def test_validate_on_the_server_and_offline_say_the_same(api_stack: Stack, tmp_path: Path) -> None:
    good = _write(tmp_path / "good.json", seed_invoice_body())
    bad_body = seed_invoice_body(currency="XXY")
    bad_body["lines"][0]["vatRate"] = 7
    bad = _write(tmp_path / "bad.json", bad_body)
    online = _run(api_stack, "validate", bad, "--json")
    offline = _run(api_stack, "validate", bad, "--offline", "--json")
    assert online.returncode == offline.returncode == 1, (online.stderr, offline.stderr)
    assert json.loads(online.stdout) == json.loads(offline.stdout)
    assert {d["pointer"] for d in json.loads(offline.stdout)["details"]} >= {"/currency"}
    # One finding a line, with its pointer and fix, then the verdict.
    assert _run(api_stack, "validate", good).stdout.splitlines()[-1] == "valid"
    lines = _run(api_stack, "validate", good, "--offline").stdout.splitlines()
    assert lines[-1] == "valid"
    assert all("(fix: " in line for line in lines[:-1])


def test_a_bulk_run_interrupted_and_run_again_files_each_line_once(
    api_stack: Stack, client: Clearway, tmp_path: Path
) -> None:
    bodies = [seed_invoice_body() for _ in range(20)]
    lines = [json.dumps(body) for body in bodies]
    lines.insert(5, json.dumps(seed_invoice_body(lines=[])))  # refused: no lines
    jsonl = tmp_path / "invoices.jsonl"
    jsonl.write_text("\n".join(lines) + "\n")

    first = subprocess.Popen(
        [CLEARWAY, "invoices", "create", "-f", str(jsonl)],
        env=_env(api_stack),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert first.stderr is not None
    progress = [first.stderr.readline(), first.stderr.readline()]
    first.send_signal(signal.SIGKILL)  # a crash, mid-run
    first.communicate(timeout=30)
    assert first.returncode == -signal.SIGKILL
    assert progress[0].startswith("1/21 line 1: inv_"), progress

    filed_before = 0
    for run in ("resumed", "once more"):  # nothing is filed twice
        again = _run(api_stack, "invoices", "create", "-f", str(jsonl), "--json")
        assert again.returncode == 1, again.stderr  # one line refused
        summary = json.loads(again.stdout)
        assert len(summary["created"]) + len(summary["alreadyFiled"]) == 20
        if run == "resumed":  # what the killed run filed is answered as filed
            filed_before = len(summary["alreadyFiled"])
            assert filed_before >= 1
        else:
            assert len(summary["alreadyFiled"]) == 20
        (refused,) = summary["refused"]
        assert refused["line"] == 6
        assert refused["type"] == "validation_error"
        assert refused["param"] == "/lines"
    for body in bodies:
        assert len(list(client.invoices.list(search=body["externalId"]))) == 1


async def test_connect_prints_the_authorization_url_and_waits_until_active(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    _, http = await make_api_account()
    key = key_of(http)
    with Clearway(key, api_stack.api_url) as clearway:
        company = clearway.companies.create("TechVision SRL", "RO12345678", "RO")
    connect = await asyncio.create_subprocess_exec(
        CLEARWAY,
        "connections",
        "connect",
        "RO",
        "--company",
        company.id,
        env=_env(api_stack, key),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert connect.stdout is not None
    first = (await asyncio.wait_for(connect.stdout.readline(), 30)).decode()
    assert first.startswith("Authorize at: "), first
    # The user opens it; ANAF (simulated) sends the browser back to Clearway.
    answer = await open_callback(
        await authorize_at_anaf(first.removeprefix("Authorize at: ").strip())
    )
    assert answer.status_code == 200, answer.text
    out, err = await asyncio.wait_for(connect.communicate(), 60)
    assert connect.returncode == 0, err
    assert " RO  active " in out.decode()


def test_setup_and_admin_are_the_servers(api_stack: Stack) -> None:
    """One `clearway` in the venv: the client's, handing the operator's commands to the
    server's command line."""
    made = _run(api_stack, "admin", "new-master-key")
    assert made.returncode == 0, made.stderr
    key_id, _, material = made.stdout.strip().partition("=")
    assert key_id
    assert material  # (`python -m clearway.cli admin`: tests/libs/security/test_rotation.py)


def test_without_the_server_package_the_servers_commands_say_what_to_install(
    tmp_path: Path,
) -> None:
    """A client-only install (pip install ./clients/python): no `clearway` package to hand
    setup/admin or the offline rules to. Hidden here as it is absent there."""
    invoice = _write(tmp_path / "i.json", seed_invoice_body())
    without_server = (
        "import sys; sys.modules['clearway'] = None; from clearway_client.cli import main; main()"
    )
    for args in (["admin", "new-master-key"], ["validate", invoice, "--offline"]):
        ran = subprocess.run(
            [sys.executable, "-c", without_server, *args],
            capture_output=True,
            text=True,
            check=False,
        )
        assert ran.returncode == 2, ran.stderr
        assert "install the server package" in ran.stderr or "server package" in ran.stderr
        assert "Traceback" not in ran.stderr


def test_a_profile_file_configures_the_command(api_stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "clearway" / "config.toml"
    config.parent.mkdir()
    config.write_text(
        f'[profiles.default]\napi_key = "sk_test_nobody"\napi_url = "{api_stack.api_url}"\n\n'
        f'[profiles.sandbox]\napi_key = "{api_stack.api_key}"\napi_url = "{api_stack.api_url}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)

    def clearway(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [CLEARWAY, *args], env=env, capture_output=True, text=True, check=False
        )

    assert clearway("companies", "list", "--profile", "sandbox").returncode == 0
    assert "authentication_error" in clearway("companies", "list").stderr  # `default`'s key
    missing = clearway("companies", "list", "--profile", "live")
    assert missing.returncode == 2
    assert "no profile 'live' (it has: default, sandbox)" in missing.stderr


def test_a_long_decimal_in_a_file_is_filed_with_its_exact_digits(
    api_stack: Stack, client: Clearway, tmp_path: Path
) -> None:
    one = tmp_path / "one.json"
    one.write_text(_long_decimal_invoice())
    created = _run(api_stack, "invoices", "create", "-f", str(one), "--json")
    assert created.returncode == 0, created.stderr
    invoice = client.invoices.get(json.loads(created.stdout)["id"])
    assert invoice.net_amount == Decimal("1234567890123.44")  # a float would make it ….45

    # The same through a .jsonl file, whose second line is the first again: one invoice, and
    # the repeat said to be the first line's, not something filed by an earlier run.
    first, other = _long_decimal_invoice(), _long_decimal_invoice()
    jsonl = tmp_path / "many.jsonl"
    jsonl.write_text(f"{first}\n{first}\n{other}\n")
    ran = _run(api_stack, "invoices", "create", "-f", str(jsonl), "--json")
    assert ran.returncode == 0, ran.stderr
    summary = json.loads(ran.stdout)
    assert [c["line"] for c in summary["created"]] == [1, 3]
    assert summary["alreadyFiled"] == []
    assert summary["duplicates"] == [{"line": 2, "duplicateOf": 1}]
    for filed in summary["created"]:
        assert client.invoices.get(filed["id"]).net_amount == Decimal("1234567890123.44")
    again = _run(api_stack, "invoices", "create", "-f", str(jsonl))
    assert again.returncode == 0, again.stderr
    assert "created 0 of 3, already filed 2, refused 0, duplicates 1" in again.stdout
    assert "line 2: duplicate of line 1" in again.stdout


def test_the_key_and_its_url_come_from_one_source(api_stack: Stack, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[profiles.default]\napi_key = "{api_stack.api_key}"\napi_url = "{api_stack.api_url}"\n'
        '\n[profiles.nourl]\napi_key = "sk_test_profile"\n'
    )
    elsewhere = "http://elsewhere.invalid"
    env = {"CLEARWAY_CONFIG": str(config), "CLEARWAY_API_URL": elsewhere}

    def found(**flags: str | None) -> tuple[str | None, str | None]:
        given = {"api_key": None, "api_url": None, "profile": None, **flags}
        got = credentials(env, **given)  # type: ignore[arg-type]
        return got.api_key, got.api_url

    # A profile's key never goes to the environment's URL: its own, else the default.
    assert found() == (api_stack.api_key, api_stack.api_url)
    assert found(profile="nourl") == ("sk_test_profile", "http://127.0.0.1:8080")
    # The environment's key goes with the environment's URL, a flag's key with the flag's URL.
    env["CLEARWAY_API_KEY"] = "sk_test_env"
    assert found() == ("sk_test_env", elsewhere)
    assert found(api_key="sk_test_flag") == ("sk_test_flag", "http://127.0.0.1:8080")
    with pytest.raises(ConfigError, match="--api-url without --api-key"):
        found(api_url=elsewhere)
    del env["CLEARWAY_API_KEY"]

    # The command as run: the profile's key reaches the profile's API, whatever
    # $CLEARWAY_API_URL says (an unreachable host here: exit 3 if it were used).
    others = {k: v for k, v in os.environ.items() if not k.startswith("CLEARWAY_")}
    ran = subprocess.run(
        [CLEARWAY, "companies", "list", "--json"],
        env={**others, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ran.returncode == 0, ran.stderr
