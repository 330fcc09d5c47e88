"""What the command line prints: one line per object, or the API's JSON with --json."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from clearway_client import Clearway
from clearway_client.errors import WaitTimeoutError
from clearway_client.models import (
    FINAL_STATUSES,
    ApiModel,
    Company,
    Connection,
    Event,
    Invoice,
    ValidationFinding,
)

M = TypeVar("M", bound=ApiModel)


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False), flush=True)


def emit(args: argparse.Namespace, item: M, line: Callable[[M], str]) -> None:
    if args.json:
        print_json(item.to_json())
    else:
        print(line(item), flush=True)


def emit_all(args: argparse.Namespace, items: Sequence[M], line: Callable[[M], str]) -> None:
    if args.json:
        print_json([item.to_json() for item in items])
    else:
        for item in items:
            print(line(item))


def invoice_line(invoice: Invoice) -> str:
    return (
        f"{invoice.id}  {invoice.status:<10} {invoice.country}  "
        f"{invoice.gross_amount} {invoice.currency}  {invoice.external_id or '-'}  "
        f"{invoice.created_at}"
    )


def event_line(event: Event) -> str:
    metadata = event.metadata or {}
    told = ", ".join(
        f"{k}={v}" for k, v in metadata.items() if k in {"govId", "uploadId", "format", "stage"}
    )
    return f"{event.created_at}  {event.event:<20} {event.status:<10} {told}".rstrip()


def finding_line(finding: ValidationFinding) -> str:
    return (
        f"{finding.severity:<7} {finding.rule}  {finding.pointer}: {finding.message}"
        f" (fix: {finding.fix})"
    )


def connection_line(connection: Connection) -> str:
    return (
        f"{connection.id}  {connection.country_code}  {connection.status:<13} "
        f"{connection.company_id}"
    )


def company_line(company: Company) -> str:
    return f"{company.id}  {company.country}  {company.vat_number}  {company.legal_name}"


def follow_timeline(
    clearway: Clearway, invoice: Invoice, args: argparse.Namespace, *, timeout: float
) -> Invoice:
    """Print the invoice's events as they happen until it is decided; the decided invoice."""
    deadline = time.monotonic() + timeout
    shown = 0
    while True:
        events = clearway.invoices.events(invoice.id)
        for event in events[shown:]:
            if args.json:
                print(json.dumps(event.to_json()), flush=True)
            else:
                print(event_line(event), flush=True)
        shown = len(events)
        current = clearway.invoices.get(invoice.id)
        if current.status in FINAL_STATUSES and shown and events[-1].status == current.status:
            if current.status != "accepted" and not args.json:
                reason = current.error_message or current.error_translated or ""
                print(f"{current.id} {current.status}: {reason}", file=sys.stderr)
            return current
        if time.monotonic() > deadline:
            raise WaitTimeoutError(f"after {timeout:g}s {invoice.id} is {current.status}", current)
        time.sleep(1.0)
