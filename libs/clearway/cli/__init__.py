"""The operator's command line: `clearway setup` and `clearway admin …` (the client's `clearway`
command hands them here when this package is installed; `python -m clearway.cli` runs them too).

- `clearway setup`: migrate $DATABASE_URL and create the topics on $KAFKA_BOOTSTRAP (once per
  deployment, before the services start).
- `clearway admin …`: accounts, API keys and master keys on $DATABASE_URL (clearway/cli/admin.py).

The development launcher (`python -m services.stack run|bench|admin`) is not part of the library.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from clearway.cli.admin import add_admin_commands, run_admin
from clearway.config import Settings, SettingsError
from clearway.db import migrate
from clearway.messaging import create_topics


async def setup(settings: Settings) -> int:
    applied = await migrate(settings.database_url)
    await create_topics(settings.kafka_bootstrap)
    print(f"migrations applied: {applied or 'none (up to date)'}; topics ready")
    return 0


def parser() -> argparse.ArgumentParser:
    commands = argparse.ArgumentParser(prog="clearway", description=__doc__.split("\n")[0])
    sub = commands.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="migrate $DATABASE_URL and create topics on $KAFKA_BOOTSTRAP")
    add_admin_commands(sub)
    return commands


def main(argv: Sequence[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command == "admin" and args.admin_command == "new-master-key":
        sys.exit(asyncio.run(run_admin(args, database_url="")))  # no database needed
    environ = dict(os.environ)
    if args.command == "admin":  # works on the database alone: no broker to name
        environ.setdefault("KAFKA_BOOTSTRAP", "")
    try:
        settings = Settings.from_env(environ)
    except SettingsError as exc:
        print(f"clearway {args.command}: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.command == "setup":
        sys.exit(asyncio.run(setup(settings)))
    sys.exit(asyncio.run(run_admin(args, settings.database_url)))
