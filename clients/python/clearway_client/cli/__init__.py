"""`clearway`: the Clearway API from the shell (docs/client.md).

Configuration: --api-key/--api-url, $CLEARWAY_API_KEY and $CLEARWAY_API_URL, or a profile file,
the key and its URL always from one of them (cli/config.py). `--json` prints what
the API answered, for scripts.
`clearway setup` and `clearway admin …` are the server's operator commands (clearway.cli),
handed over when the server package is installed beside this one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearway_client import Clearway
from clearway_client.cli import output
from clearway_client.cli.bulk import create_many
from clearway_client.cli.config import ConfigError, config_path, credentials
from clearway_client.cli.exits import (
    EXIT_API_ERROR,
    EXIT_OK,
    EXIT_UNFINISHED,
    EXIT_USAGE,
    run_guarded,
)
from clearway_client.cli.offline import validate_offline
from clearway_client.cli.server import server_has
from clearway_client.models import Invoice, ValidationResult

SERVER_COMMANDS = frozenset({"setup", "admin"})


def _server_main(argv: Sequence[str]) -> None:
    """The server's own command line, for the operator's commands."""
    if not server_has("clearway.cli"):
        print(
            f"clearway {argv[0]}: an operator's command of the Clearway server; install the "
            "server package (`pip install -e .` in its repository) to run it",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    from clearway.cli import main as server_main  # noqa: PLC0415 - only when it is there

    server_main(argv)


def _client(args: argparse.Namespace) -> Clearway:
    try:
        found = credentials(
            os.environ, api_key=args.api_key, api_url=args.api_url, profile=args.profile
        )
    except ConfigError as exc:
        print(f"clearway: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    if not found.api_key:
        print(
            "clearway: no API key: set CLEARWAY_API_KEY, pass --api-key, or add a profile to "
            f"{config_path(os.environ)}",
            file=sys.stderr,
        )
        sys.exit(EXIT_USAGE)
    return Clearway(found.api_key, found.api_url)


def _read_json(path: str) -> Any:
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    try:
        return json.loads(text, parse_float=Decimal)  # amounts keep their digits
    except json.JSONDecodeError as exc:
        print(f"clearway: {path} is not JSON: {exc}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


# Commands --------------------------------------------------------------------------------------


def invoices_create(args: argparse.Namespace) -> int:
    if args.file.endswith(".jsonl"):
        with _client(args) as clearway:
            return create_many(clearway, Path(args.file), as_json=args.json)
    body = _read_json(args.file)
    with _client(args) as clearway:
        invoice = clearway.invoices.create(body, idempotency_key=args.idempotency_key)
        output.emit(args, invoice, output.invoice_line)
        if not args.wait:
            return EXIT_OK
        final = output.follow_timeline(clearway, invoice, args, timeout=args.timeout)
    return EXIT_OK if final.status == "accepted" else EXIT_UNFINISHED


def invoices_list(args: argparse.Namespace) -> int:
    filters: dict[str, Any] = {
        k: v
        for k, v in {
            "status": args.status,
            "country": args.country,
            "company_id": args.company,
            "search": args.search,
        }.items()
        if v is not None
    }
    with _client(args) as clearway:
        found: list[Invoice] = []
        for invoice in clearway.invoices.list(**filters, limit=min(args.limit, 100)):
            found.append(invoice)
            if len(found) >= args.limit:
                break
    output.emit_all(args, found, output.invoice_line)
    return EXIT_OK


def invoices_get(args: argparse.Namespace) -> int:
    with _client(args) as clearway:
        output.emit(args, clearway.invoices.get(args.id), output.invoice_line)
    return EXIT_OK


def invoices_events(args: argparse.Namespace) -> int:
    with _client(args) as clearway:
        events = clearway.invoices.events(args.id)
    output.emit_all(args, events, output.event_line)
    return EXIT_OK


def _binary(get: Callable[[Clearway], Any]) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        with _client(args) as clearway:
            document = get(clearway)(args.id)
        if args.output:
            Path(args.output).write_bytes(document.content)
            print(f"{args.output}: {len(document.content)} bytes, {document.media_type}")
        else:
            sys.stdout.buffer.write(document.content)
            sys.stdout.buffer.flush()
        return EXIT_OK

    return command


def validate(args: argparse.Namespace) -> int:
    if args.offline:
        result = validate_offline(Path(args.file).read_bytes(), livemode=args.live)
    else:
        with _client(args) as clearway:
            result = clearway.invoices.validate(_read_json(args.file))
    return _print_validation(args, result)


def _print_validation(args: argparse.Namespace, result: ValidationResult) -> int:
    if args.json:
        output.print_json(result.to_json())
    else:
        for finding in result.details:
            print(output.finding_line(finding))
        print("valid" if result.valid else f"not valid: {len(result.errors)} error(s)")
    return EXIT_OK if result.valid else EXIT_API_ERROR


def connections_connect(args: argparse.Namespace) -> int:
    with _client(args) as clearway:
        connection = clearway.connections.create(args.company, args.country)
        if connection.status != "active":
            where = sys.stderr if args.json else sys.stdout
            if connection.authorization_url:
                print(f"Authorize at: {connection.authorization_url}", file=where, flush=True)
            if connection.setup_instructions:
                for step in connection.setup_instructions.steps:
                    print(f"- {step}", file=where, flush=True)
                upload = connection.setup_instructions.upload_url
                print(f"Upload to: {upload}", file=where, flush=True)
            print(f"waiting for {connection.id} to become active…", file=sys.stderr, flush=True)
            connection = clearway.connections.wait(connection.id, timeout=args.timeout)
        output.emit(args, connection, output.connection_line)
    return EXIT_OK


def _listing(
    get: Callable[[Clearway], list[Any]], line: Callable[[Any], str]
) -> Callable[[argparse.Namespace], int]:
    def command(args: argparse.Namespace) -> int:
        with _client(args) as clearway:
            items = get(clearway)
        output.emit_all(args, items, line)
        return EXIT_OK

    return command


# The parser ------------------------------------------------------------------------------------


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="print the API's JSON, for scripts")
    common.add_argument("--api-key", help="default: $CLEARWAY_API_KEY, else the profile's")
    common.add_argument(
        "--api-url", help="the --api-key's API (only with --api-key); default http://127.0.0.1:8080"
    )
    common.add_argument("--profile", help="a profile of the config file (cli/config.py)")

    top = argparse.ArgumentParser(
        prog="clearway",
        description="The Clearway API from the shell. Exit codes: 0 done, 1 refused by the API "
        "(or not valid), 2 usage or configuration, 3 API unreachable, 4 a wait ran out, "
        "5 an invoice ended rejected or in error, 130 interrupted.",
    )
    commands = top.add_subparsers(dest="command", required=True)
    commands.add_parser("setup", help="the server's: migrate and create topics")
    commands.add_parser("admin", help="the server's: accounts, API keys, master keys")

    invoices = commands.add_parser("invoices", help="send and follow invoices")
    verbs = invoices.add_subparsers(dest="verb", required=True)
    create = verbs.add_parser("create", parents=[common], help="send one (.json) or many (.jsonl)")
    create.add_argument("-f", "--file", required=True, help="invoice.json, or invoices.jsonl")
    create.add_argument("--idempotency-key", help="(one invoice) default: one made for the call")
    create.add_argument("--wait", action="store_true", help="print the timeline until decided")
    create.add_argument("--timeout", type=float, default=300, help="seconds --wait waits")
    create.set_defaults(run=invoices_create)

    listing = verbs.add_parser("list", parents=[common], help="newest first")
    listing.add_argument("--status")
    listing.add_argument("--country")
    listing.add_argument("--company", help="comp_…")
    listing.add_argument("--search", help="VAT numbers, externalId")
    listing.add_argument("--limit", type=int, default=20, help="how many (all pages)")
    listing.set_defaults(run=invoices_list)

    for verb, run, helptext in (
        ("get", invoices_get, "one invoice"),
        ("events", invoices_events, "its timeline"),
        ("document", _binary(lambda c: c.invoices.document), "the generated document"),
        ("receipt", _binary(lambda c: c.invoices.receipt), "the government's receipt"),
    ):
        sub = verbs.add_parser(verb, parents=[common], help=helptext)
        sub.add_argument("id", help="inv_…")
        if verb in {"document", "receipt"}:
            sub.add_argument("-o", "--output", help="a file (default: standard output)")
        sub.set_defaults(run=run)

    check = commands.add_parser(
        "validate", parents=[common], help="every rule and the country's gate, nothing created"
    )
    check.add_argument("file", help="invoice.json")
    check.add_argument(
        "--offline", action="store_true", help="here, with the server package's rules and gates"
    )
    check.add_argument("--live", action="store_true", help="(offline) as a live key: check digits")
    check.set_defaults(run=validate)

    connections = commands.add_parser("connections", help="links to governments")
    conn_verbs = connections.add_subparsers(dest="verb", required=True)
    connect = conn_verbs.add_parser(
        "connect", parents=[common], help="connect a company and wait until active"
    )
    connect.add_argument("country", help="RO, IT, PL, FR, BE, DE")
    connect.add_argument("--company", required=True, help="comp_…")
    connect.add_argument("--timeout", type=float, default=600)
    connect.set_defaults(run=connections_connect)
    conn_list = conn_verbs.add_parser("list", parents=[common])
    conn_list.set_defaults(run=_listing(lambda c: c.connections.list(), output.connection_line))

    companies = commands.add_parser("companies", help="the companies you file for")
    comp_verbs = companies.add_subparsers(dest="verb", required=True)
    comp_list = comp_verbs.add_parser("list", parents=[common])
    comp_list.set_defaults(run=_listing(lambda c: c.companies.list(), output.company_line))
    return top


def main(argv: Sequence[str] | None = None) -> None:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list and args_list[0] in SERVER_COMMANDS:
        _server_main(args_list)
        return
    args = parser().parse_args(args_list)
    sys.exit(run_guarded(args.run, args))
