"""`clearway invoices create -f invoices.jsonl`: one invoice per line, with progress, a summary,
and a run that can be resumed: each line's idempotency key is derived from the line itself, so
running the file again (after an interruption, a crash, a lost answer) answers the invoices
already filed instead of filing them twice, and files the rest. A line repeated in the file is
the same invoice: it is reported as a duplicate of the first, not sent again."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from clearway_client import Clearway
from clearway_client.cli.exits import (
    EXIT_API_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNREACHABLE,
)
from clearway_client.errors import APIConnectionError, APIError

BAR_WIDTH = 30


def line_key(line: str) -> str:
    """The idempotency key of a line: the same line, the same key, in every run."""
    return "bulk-" + hashlib.sha256(line.strip().encode()).hexdigest()[:48]


@dataclass
class Summary:
    total: int
    created: list[dict[str, Any]] = field(default_factory=list)
    already_filed: list[dict[str, Any]] = field(default_factory=list)  # by an earlier run
    refused: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)  # of a line of this file

    @property
    def done(self) -> int:
        return (
            len(self.created) + len(self.already_filed) + len(self.refused) + len(self.duplicates)
        )


def _progress(summary: Summary, note: str) -> None:
    if sys.stderr.isatty():
        filled = BAR_WIDTH * summary.done // max(summary.total, 1)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        print(
            f"\r[{bar}] {summary.done}/{summary.total} created {len(summary.created)} "
            f"already filed {len(summary.already_filed)} refused {len(summary.refused)} "
            f"duplicates {len(summary.duplicates)}",
            end="",
            file=sys.stderr,
            flush=True,
        )
    else:  # a log, not a terminal: a line each
        print(f"{summary.done}/{summary.total} {note}", file=sys.stderr, flush=True)


def _report(summary: Summary, *, as_json: bool, stopped: str | None) -> None:
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if as_json:
        print(
            json.dumps(
                {
                    "total": summary.total,
                    "created": summary.created,
                    "alreadyFiled": summary.already_filed,
                    "refused": summary.refused,
                    "duplicates": summary.duplicates,
                    "stopped": stopped,
                },
                indent=2,
            ),
            flush=True,
        )
        return
    print(
        f"created {len(summary.created)} of {summary.total}, already filed "
        f"{len(summary.already_filed)}, refused {len(summary.refused)}, duplicates "
        f"{len(summary.duplicates)}"
    )
    for duplicate in summary.duplicates:
        print(f"  line {duplicate['line']}: duplicate of line {duplicate['duplicateOf']}")
    for refusal in summary.refused:
        where = f" ({refusal['param']})" if refusal.get("param") else ""
        print(f"  line {refusal['line']}: {refusal['type']}{where}: {refusal['message']}")
    if stopped:
        print(f"stopped: {stopped}; run the same command again to resume (nothing is filed twice)")


def create_many(clearway: Clearway, path: Path, *, as_json: bool) -> int:
    numbered = [
        (n, line) for n, line in enumerate(path.read_text().splitlines(), 1) if line.strip()
    ]
    summary = Summary(total=len(numbered))
    stopped: str | None = None
    first_line_of: dict[str, int] = {}  # idempotency key → the line that first had it
    try:
        for number, line in numbered:
            key = line_key(line)
            if key in first_line_of:  # its key would replay the first: say what it is
                first = first_line_of[key]
                summary.duplicates.append({"line": number, "duplicateOf": first})
                _progress(summary, f"line {number}: duplicate of line {first}")
                continue
            first_line_of[key] = number
            try:
                body = json.loads(line, parse_float=Decimal)  # amounts keep their digits
            except json.JSONDecodeError as exc:
                summary.refused.append(
                    {"line": number, "type": "invalid_json", "message": str(exc), "param": None}
                )
                _progress(summary, f"line {number}: not JSON")
                continue
            try:
                invoice = clearway.invoices.create(body, idempotency_key=key)
            except APIError as exc:
                summary.refused.append(
                    {
                        "line": number,
                        "type": exc.type,
                        "message": exc.message,
                        "param": exc.param,
                        "errors": [e.__dict__ for e in exc.errors],
                    }
                )
                _progress(summary, f"line {number}: refused: {exc}")
                continue
            filed = {"line": number, "id": invoice.id, "externalId": invoice.external_id}
            (summary.already_filed if invoice.replayed else summary.created).append(filed)
            again = " (already filed)" if invoice.replayed else ""
            _progress(summary, f"line {number}: {invoice.id} {invoice.status}{again}")
    except APIConnectionError as exc:
        stopped = f"the API could not be reached ({exc})"
    except KeyboardInterrupt:
        stopped = "interrupted"
    _report(summary, as_json=as_json, stopped=stopped)
    if stopped == "interrupted":
        return EXIT_INTERRUPTED
    if stopped:
        return EXIT_UNREACHABLE
    return EXIT_API_ERROR if summary.refused else EXIT_OK
