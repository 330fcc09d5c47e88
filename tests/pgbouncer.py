"""PgBouncer in transaction mode in front of a PostgreSQL server, for tests: a generated config
on a free port, trust authentication on loopback, stopped by the fixture that started it.

`make install` installs the Debian package when it is missing."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

from services.stack.infra import free_port, spawn, wait_for_port

PGBOUNCER_PATHS = ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer")


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer") or next(
        (path for path in PGBOUNCER_PATHS if os.access(path, os.X_OK)), None
    )
    if found is None:
        raise RuntimeError("pgbouncer is not installed: run `make install` (it installs it)")
    return found


@dataclass
class PgBouncer:
    process: subprocess.Popen[bytes]
    port: int
    folder: Path

    def url_for(self, database_url: str) -> str:
        """`database_url` (user, database) reached through this PgBouncer instead."""
        parts = urlsplit(database_url)
        user = parts.username or "postgres"
        return urlunsplit(parts._replace(netloc=f"{user}@127.0.0.1:{self.port}", query=""))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


async def start_pgbouncer(server_url: str, *, pool_size: int = 4) -> PgBouncer:
    """PgBouncer in transaction mode for every database of `server_url`'s server, with at most
    `pool_size` server connections per database and user: clients share them, a transaction
    at a time."""
    server = urlsplit(server_url)
    user = server.username or "postgres"
    # The embedded server listens on a Unix socket only (`?host=/socket/dir`); others on TCP.
    socket_dir = parse_qs(server.query).get("host", [None])[0]
    host = socket_dir or server.hostname or "127.0.0.1"
    port = free_port()
    # Readable by the unprivileged user PgBouncer runs as when started by root.
    folder = Path(tempfile.mkdtemp(prefix="clearway-pgbouncer-"))
    folder.chmod(0o755)
    (folder / "userlist.txt").write_text(f'"{user}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        "[databases]\n"
        f"* = host={host} port={server.port or 5432}\n"
        "[pgbouncer]\n"
        "listen_addr = 127.0.0.1\n"
        f"listen_port = {port}\n"
        "unix_socket_dir =\n"
        "auth_type = trust\n"
        f"auth_file = {folder / 'userlist.txt'}\n"
        "pool_mode = transaction\n"
        f"default_pool_size = {pool_size}\n"
        "max_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n"
    )
    for path in folder.iterdir():
        path.chmod(0o644)
    command = [pgbouncer_binary()]
    if os.geteuid() == 0:
        # PgBouncer refuses to run as root: it runs as the user who can reach the server's
        # socket (the embedded server's own), else as nobody.
        owner = pwd.getpwuid(Path(socket_dir).stat().st_uid).pw_name if socket_dir else "nobody"
        command += ["-u", "nobody" if owner == "root" else owner]
    process = spawn([*command, str(folder / "pgbouncer.ini")], log_path=folder / "out.log")
    bouncer = PgBouncer(process, port, folder)
    try:
        await wait_for_port(port, timeout=10)
    except TimeoutError:
        output = (folder / "out.log").read_text(errors="replace")
        bouncer.stop()
        raise RuntimeError(f"pgbouncer did not start: {output}") from None
    return bouncer
