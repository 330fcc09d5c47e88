"""`make run` as a user meets it: the two lines exactly, the README's curl example run as
written (with the printed key) taking the seed invoice to `accepted`, and Ctrl-C stopping
every process it started."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest

from services.stack.stack import Stack

pytestmark = [pytest.mark.stack, pytest.mark.postgres, pytest.mark.kafka]

README = Path(__file__).parents[3] / "README.md"
API_LINE = re.compile(r"API: (http://127\.0\.0\.1:\d+)")
KEY_LINE = re.compile(r"Sandbox API key: (sk_test_[A-Za-z0-9_-]+)")
README_API = "http://127.0.0.1:8080"


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


async def _sh(script: str, key: str) -> Any:
    shell = await asyncio.create_subprocess_exec(
        "sh",
        "-c",
        script,
        env={**os.environ, "CLEARWAY_KEY": key},
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(shell.communicate(), timeout=60)
    assert shell.returncode == 0, out
    return out.decode()


@contextlib.asynccontextmanager
async def _database_of_its_own(stack: Stack) -> AsyncIterator[str]:
    """A database on the tests' server, as $DATABASE_URL: a user's `make run` data and the
    tests' stay apart."""
    name = f"clearway_run_{secrets.token_hex(4)}"
    server = await asyncpg.connect(stack.database.server_url)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
        yield urlsplit(stack.database.url)._replace(path=f"/{name}").geturl()
    finally:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await server.close()


async def _follow_the_readme(api: str, key: str) -> None:
    """The README's POST and GETs, as a user pastes them: the printed key in, the port changed
    only if 8080 was taken on this machine."""
    post, gets = _readme_examples()
    post = post.replace("sk_test_...", key).replace(README_API, api)
    created = json.loads(await _sh(post, key))["data"]
    assert created["status"] == "created", created
    get_invoice, get_events = (
        gets.replace("inv_...", created["id"]).replace(README_API, api).strip().splitlines()
    )
    for _ in range(120):
        invoice = json.loads(await _sh(get_invoice, key))["data"]
        if invoice["status"] in {"accepted", "rejected", "error"}:
            break
        await asyncio.sleep(0.5)
    assert invoice["status"] == "accepted", invoice
    assert invoice["govId"]
    events = json.loads(await _sh(get_events, key))["data"]
    assert [e["event"] for e in events] == [
        "invoice.created",
        "invoice.validated",
        "invoice.submitted",
        "invoice.accepted",
    ]


async def test_make_run_prints_two_lines_serves_the_readme_example_and_stops_everything(
    stack: Stack, tmp_path: Path
) -> None:
    started: set[int] = set()
    async with _database_of_its_own(stack) as database_url:
        with (tmp_path / "run.stderr").open("wb") as stderr:
            run = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "services.stack",
                "run",
                cwd=tmp_path,  # its .state/ here
                env={**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": str(README.parent)},
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
            started = _descendants(run.pid)
            assert len(started) >= 10, started  # the broker, the simulator and every service

            await _follow_the_readme(api_line[1], key_line[1])

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
