"""The CPU each process of the stack spends (Linux /proc): Clearway's services, the broker, the
embedded PostgreSQL (its postmaster and backends) and the simulators; per invoice, as measured
and net of what each spends idle."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from services.stack.stack import Stack

# Processes that stand in for others in production: the governments' APIs, and Apache Kafka.
SIMULATORS = ("govsim",)
BROKER = "broker"
POSTGRES = "postgres"


def _process_cpu(pid: int) -> tuple[float, float, int]:
    """(own CPU, CPU of its children that ended, parent pid) in clock ticks (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14]), int(fields[1])


def _postgres_cpu(stack: Stack) -> float | None:
    """CPU seconds of the embedded server so far: the postmaster, the backends and helpers it
    has reaped, and the ones alive. None for a server the bench does not own (a shared one's
    CPU is other work's too)."""
    if stack.database.embedded is None:
        return None
    pid_file = stack.config.state_dir / "pgdata" / "postmaster.pid"
    postmaster = int(pid_file.read_text().split()[0])
    own, reaped, _ = _process_cpu(postmaster)
    ticks = own + reaped
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child_own, _, parent = _process_cpu(int(entry.name))
            except (OSError, IndexError):
                continue  # ended meanwhile
            if parent == postmaster:
                ticks += child_own
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """User + system CPU each process has used so far, with its living child processes' (the
    converter's gate workers), and the embedded PostgreSQL's."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]
    own_and_parent: dict[int, tuple[float, int]] = {}
    for pid in pids:
        try:
            own, _, parent = _process_cpu(pid)
        except (OSError, IndexError):
            continue  # ended meanwhile
        own_and_parent[pid] = (own, parent)
    used: dict[str, float] = {}
    for name, process in stack.processes.items():
        if process.poll() is None and process.pid in own_and_parent:
            children = [own for own, parent in own_and_parent.values() if parent == process.pid]
            used[name] = (own_and_parent[process.pid][0] + sum(children)) / ticks
    postgres = _postgres_cpu(stack)
    if postgres is not None:
        used[POSTGRES] = postgres
    return used


def cpu_spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: after[name] - before.get(name, 0.0) for name in after}


def cpu_per_invoice(
    spent: dict[str, float], idle_per_s: dict[str, float], elapsed: float, invoices: int
) -> dict[str, Any]:
    """CPU ms per invoice by process, as measured and without what the process spends idle
    over the same time (the marginal cost a cost model scales), grouped as Clearway's own
    services, the broker, PostgreSQL and the simulators."""

    def per_invoice(name: str, *, net: bool) -> float:
        used = spent[name] - (idle_per_s.get(name, 0.0) * elapsed if net else 0.0)
        return max(used, 0.0) * 1000 / invoices

    ours = [n for n in spent if n not in SIMULATORS and n not in {BROKER, POSTGRES}]
    groups = {
        "clearway": ours,
        "broker": [n for n in spent if n == BROKER],
        "postgres": [n for n in spent if n == POSTGRES],
        "simulators": [n for n in spent if n in SIMULATORS],
    }
    return {
        "by_process": {n: round(per_invoice(n, net=False), 2) for n in sorted(spent)},
        "by_process_net_of_idle": {n: round(per_invoice(n, net=True), 2) for n in sorted(spent)},
        "groups": {
            group: round(sum(per_invoice(n, net=False) for n in names), 2)
            for group, names in groups.items()
            if names
        },
        "groups_net_of_idle": {
            group: round(sum(per_invoice(n, net=True) for n in names), 2)
            for group, names in groups.items()
            if names
        },
    }
