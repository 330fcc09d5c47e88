"""`python -m services.stack run|bench|admin`: Clearway on one machine (make run, make bench)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import fields
from pathlib import Path

from clearway import cli
from clearway.security.keyfile import SANDBOX_KEY_FILE

from services.stack.bench_load import MIX_COUNTRIES
from services.stack.infra import port_is_free, provision_database
from services.stack.stack import StackConfig, start_stack

STATE_DIR = Path(".state")
API_PORT_ENV = "CLEARWAY_API_PORT"
DEFAULT_API_PORT = 8080


def api_port() -> int | str:
    """The port the API must listen on, or why it cannot: $CLEARWAY_API_PORT, else 8080. A port
    already taken is refused rather than swapped for another: the README's curl would otherwise
    reach whatever else listens there."""
    configured = os.environ.get(API_PORT_ENV, "").strip()
    if configured and not (configured.isdigit() and 0 < int(configured) < 65536):
        return f"{API_PORT_ENV}={configured!r} is not a port number (1-65535)."
    port = int(configured) if configured else DEFAULT_API_PORT
    if port_is_free(port):
        return port
    if configured:
        return f"Port {port} ({API_PORT_ENV}) is already in use; choose another free port."
    return (
        f"Port {port} is already in use by another process, so Clearway's API cannot listen "
        f"there (your curl to 127.0.0.1:{port} would reach that process, not Clearway). Stop "
        f"it, or run on another port: {API_PORT_ENV}=8081 make run"
    )


async def run() -> int:
    port = api_port()
    if isinstance(port, str):
        print(f"ERROR: {port}\nNothing was started.", file=sys.stderr, flush=True)
        return 2
    stack = await start_stack(StackConfig(state_dir=STATE_DIR, api_port=port))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    # The lines the README shows, first and exactly; then where the simulators are.
    print(f"API: {stack.api_url}", flush=True)
    print(f"Sandbox API key: {stack.api_key}", flush=True)
    print(f"Government simulators: {stack.govsim_url}", flush=True)
    print(
        f"(Kafka bootstrap: {stack.kafka_bootstrap}; logs in {stack.log_dir}; "
        "Ctrl-C stops everything)",
        file=sys.stderr,
        flush=True,
    )
    code = 0
    try:
        while not stop.is_set():
            dead = stack.dead_processes()
            if dead:
                print(f"stopping: {', '.join(dead)} exited; see {stack.log_dir}", file=sys.stderr)
                code = 1
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)
    finally:
        stack.stop()
    return code


async def admin_on_dev_database(argv: list[str]) -> int:
    """`clearway admin …` on the database `make run` uses ($DATABASE_URL, else the local or
    embedded server it finds), with the sandbox master key it made when none is configured."""
    database = await provision_database(None, STATE_DIR)
    sandbox_keys = STATE_DIR / SANDBOX_KEY_FILE
    environ = {"DATABASE_URL": database.url}
    if not os.environ.get("CLEARWAY_MASTER_KEYS") and sandbox_keys.exists():
        environ["CLEARWAY_MASTER_KEYS"] = sandbox_keys.read_text(encoding="utf-8").strip()
    os.environ.update(environ)
    try:
        cli.main(["admin", *argv])
    except SystemExit as exit_:
        return int(exit_.code or 0)
    finally:
        database.stop_embedded()
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.stack", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="start everything and print the API URL and a sandbox key")
    admin = sub.add_parser("admin", help="`clearway admin …` on the database `make run` uses")
    admin.add_argument("argv", nargs=argparse.REMAINDER)
    bench = sub.add_parser("bench", help="drive N invoices through the whole pipeline")
    bench.add_argument("--count", type=int, default=1000, help="invoices of the sustained phase")
    bench.add_argument("--concurrency", type=int, default=32, help="its closed-loop clients")
    bench.add_argument(
        "--rate", type=float, default=5.0, help="the fixed load's invoices/s (below saturation)"
    )
    bench.add_argument("--seconds", type=float, default=20.0, help="how long the fixed load runs")
    bench.add_argument("--post-rate", type=float, default=100.0, help="POST /v1/invoices/s offered")
    bench.add_argument("--post-seconds", type=float, default=3.0)
    bench.add_argument(
        "--countries",
        type=lambda text: tuple(text.upper().split(",")),
        default=MIX_COUNTRIES,
        help="the mix's countries, comma-separated (all six by default)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "run":
        sys.exit(asyncio.run(run()))
    if args.command == "admin":
        sys.exit(asyncio.run(admin_on_dev_database(args.argv)))
    from services.stack.bench import BenchOptions, run_bench  # noqa: PLC0415 - only bench

    # The flags are named as the options are (--post-rate: post_rate).
    options = BenchOptions(**{f.name: getattr(args, f.name) for f in fields(BenchOptions)})
    sys.exit(asyncio.run(run_bench(options)))


if __name__ == "__main__":
    main()
