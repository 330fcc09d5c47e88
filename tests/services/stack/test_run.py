"""`make run` as a user meets it: the two lines exactly and first, then the simulators' address;
the README's curl example run as written (with the printed URL and key) taking the seed invoice
to `accepted`; docs/sandbox.md's Romanian and French purchase invoices, delivered as written,
received by the dev company within seconds; Ctrl-C stopping every process it started; and a
taken port refused loudly, starting nothing, instead of the API moving elsewhere."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.stack.infra import free_port, provision_database
from tests.conftest import ACCEPTED_EVENTS
from tests.e2e.sandbox_doc import (
    delivered_government_id,
    purchase_examples,
    received_with,
    run_shell,
)

# No test here uses the shared `stack`: each `make run` is a stack of its own, so these run beside
# the whole-stack tests in `make test` (tests/run_in_two.py).
pytestmark = [pytest.mark.postgres, pytest.mark.kafka]

README = Path(__file__).parents[3] / "README.md"
API_LINE = re.compile(r"API: (http://127\.0\.0\.1:\d+)")
KEY_LINE = re.compile(r"Sandbox API key: (sk_test_[A-Za-z0-9_-]+)")
SIM_LINE = re.compile(r"Government simulators: (http://127\.0\.0\.1:\d+)")


def _readme_examples() -> tuple[str, str]:
    """The "Send an invoice" section's two shell blocks: the POST, then the two GETs."""
    section = README.read_text().split("## Send an invoice", 1)[1].split("\n## ", 1)[0]
    post, gets = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)[:2]
    return post, gets


def _descendants(root: int) -> set[int]:
    """Every process below `root`, from /proc."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def _sh(script: str, api: str, key: str) -> Any:
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        script,
        env={**os.environ, "CLEARWAY_URL": api, "CLEARWAY_KEY": key},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(shell.communicate(), timeout=60)
    assert shell.returncode == 0, out
    return out.decode()


@contextlib.asynccontextmanager
async def _database_of_its_own(state_dir: Path) -> AsyncIterator[str]:
    """A throwaway database (on the server a stack would use), as $DATABASE_URL: a user's `make
    run` data and the tests' stay apart. No `stack` fixture: this test starts a stack of its own
    (`make run`), so it runs beside the shared one in `make test`, not after it."""
    database = await provision_database(f"clearway_run_{secrets.token_hex(4)}", state_dir)
    try:
        yield database.url
    finally:
        await database.drop()
        database.stop_embedded()


async def _follow_the_readme(api: str, key: str) -> None:
    """The README's POST and GETs, as a user pastes them: $CLEARWAY_URL and $CLEARWAY_KEY set to
    what was printed (the exports are the README's own lines, with the printed values)."""
    post, gets = _readme_examples()
    assert "export CLEARWAY_URL=http://127.0.0.1:8080" in post
    post = post.replace("sk_test_...", key).replace("http://127.0.0.1:8080", api)
    created = json.loads(await _sh(post, api, key))["data"]
    assert created["status"] == "created", created
    get_invoice, get_events = gets.replace("inv_...", created["id"]).strip().splitlines()
    assert "$CLEARWAY_URL/" in get_invoice
    for _ in range(120):
        invoice = json.loads(await _sh(get_invoice, api, key))["data"]
        if invoice["status"] in {"accepted", "rejected", "error"}:
            break
        await asyncio.sleep(0.5)
    assert invoice["status"] == "accepted", invoice
    assert invoice["govId"]
    events = json.loads(await _sh(get_events, api, key))["data"]
    assert [e["event"] for e in events] == ACCEPTED_EVENTS


# What "within seconds" allows: `make run` looks at an inbox every 2 s, then reads and records.
RECEIVED_WITHIN = 20.0


async def _receive_the_sandbox_purchases(api: str, key: str, sim: str) -> None:
    """docs/sandbox.md's deliveries for the countries it says show within seconds (Poland's
    pace is KSeF's hourly query allowance), each received by the dev company that quickly."""
    async with httpx.AsyncClient(
        base_url=api, headers={"Authorization": f"Bearer {key}"}, timeout=10
    ) as client:
        for country in ("RO", "FR"):
            output = await run_shell(
                purchase_examples()[country], api_url=api, api_key=key, govsim_url=sim
            )
            government_id = delivered_government_id(country, output)
            received = await received_with(client, government_id, timeout=RECEIVED_WITHIN)
            assert received is not None, f"{country}: not received within {RECEIVED_WITHIN}s"
            assert received["country"] == country


async def test_make_run_prints_two_lines_serves_the_readme_example_and_stops_everything(
    tmp_path: Path,
) -> None:
    started: set[int] = set()
    port = free_port()  # not 8080: a user's `make run` may hold it (that case: below)
    async with _database_of_its_own(tmp_path / "postgres") as database_url:
        with (tmp_path / "run.stderr").open("wb") as stderr:
            run = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.stack",
                "run",
                cwd=tmp_path,  # its .state/ here
                env={
                    **os.environ,
                    "DATABASE_URL": database_url,
                    "PYTHONPATH": str(README.parent),
                    "CLEARWAY_API_PORT": str(port),
                },
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
            )
        try:
            assert run.stdout is not None
            first = (await asyncio.wait_for(run.stdout.readline(), timeout=180)).decode()
            second = (await asyncio.wait_for(run.stdout.readline(), timeout=10)).decode()
            api_line = API_LINE.fullmatch(first.strip())
            key_line = KEY_LINE.fullmatch(second.strip())
            assert api_line, first
            assert key_line, second
            assert api_line[1] == f"http://127.0.0.1:{port}"
            third = (await asyncio.wait_for(run.stdout.readline(), timeout=10)).decode()
            sim_line = SIM_LINE.fullmatch(third.strip())
            assert sim_line, third
            async with httpx.AsyncClient(base_url=sim_line[1], timeout=10) as sim:
                # The address docs/sandbox.md sends users to: the simulated KSeF portal's token.
                issued = await sim.post("/_sim/pl/ksef-tokens", json={"nip": "1234563218"})
                assert issued.status_code == 201, issued.text
            started = _descendants(run.pid)
            assert len(started) >= 10, started  # the broker, the simulator and every service

            await _follow_the_readme(api_line[1], key_line[1])
            await _receive_the_sandbox_purchases(api_line[1], key_line[1], sim_line[1])

            run.send_signal(signal.SIGINT)  # Ctrl-C
            assert await asyncio.wait_for(run.wait(), timeout=60) == 0
            await asyncio.sleep(0.5)
            assert [pid for pid in started if _running(pid)] == []
        finally:
            if run.returncode is None:
                run.kill()
                await run.wait()
            for pid in started:
                if _running(pid):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def _held(port: int) -> Any:
    """Another process's server on `port`, as far as `make run` can tell: a listening socket
    (or, when something else already listens there, that)."""
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            pass  # taken already, by someone else
        yield


async def _run_refused(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    run = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.stack",
        "run",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(run.communicate(), timeout=60)
    assert run.returncode is not None
    return run.returncode, out.decode(), err.decode()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "CLEARWAY_API_PORT"}
    return {**env, "PYTHONPATH": str(README.parent), **extra}


async def test_make_run_refuses_a_taken_8080_loudly_and_starts_nothing(tmp_path: Path) -> None:
    with _held(8080):
        code, out, err = await _run_refused(tmp_path, _env())
    assert code != 0
    assert out == ""  # no API line: nobody is sent to the other process
    assert "Port 8080 is already in use" in err
    assert "CLEARWAY_API_PORT=8081 make run" in err
    assert "Nothing was started" in err
    assert not (tmp_path / ".state").exists()


async def test_make_run_refuses_a_taken_clearway_api_port(tmp_path: Path) -> None:
    port = free_port()
    with _held(port):
        code, out, err = await _run_refused(tmp_path, _env(CLEARWAY_API_PORT=str(port)))
    assert code != 0
    assert out == ""
    assert f"Port {port} (CLEARWAY_API_PORT) is already in use" in err
    assert not (tmp_path / ".state").exists()
    code, out, err = await _run_refused(tmp_path, _env(CLEARWAY_API_PORT="80a"))
    assert code != 0
    assert "CLEARWAY_API_PORT='80a' is not a port number" in err
