"""The chaos suite's counts per fault, kept in one module that the tests and the conftest's
summary both import (a conftest may be imported under another name than its tests see)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FaultOutcome:
    fault: str
    sent: int
    final: int
    accepted: int
    duplicates: int  # filings beyond one, repeated or missing events, an event under two ids
    lost: int  # sent but not final in time
    seconds: float


REPORT: list[FaultOutcome] = []


def report_table() -> list[str]:
    header = "| fault | sent | final | accepted | duplicates | lost | seconds |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    rows = [
        f"| {o.fault} | {o.sent} | {o.final} | {o.accepted} | {o.duplicates} | {o.lost} "
        f"| {o.seconds:.1f} |"
        for o in REPORT
    ]
    return [header, rule, *rows]
