"""What `make bench` tells: progress lines on stderr while it runs, and the result's tables,
printed and written with the figures to bench-results/ (bench.json, bench.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

RESULTS_DIR = Path("bench-results")


def progress(text: str) -> None:
    print(f"  {text}", file=sys.stderr, flush=True)


def _lat(figures: dict[str, float]) -> str:
    return f"{figures['p50']} / {figures['p95']} / {figures['p99']} ms"


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def _markdown(result: dict[str, Any]) -> str:
    rest, kafka, fixed = result["rest"], result["kafka"], result["fixed_load"]
    gate, scale, post = (
        result["gate_cost_per_document"],
        result["scaling"],
        result["post_open_loop"],
    )
    phases = (rest, kafka, fixed)
    lines = [f"Countries in the mix, in turn: {', '.join(result['countries'])}.", ""]
    lines += ["## Sustained (closed loop, at saturation) and fixed load", ""]
    lines += _table(
        ("metric", f"REST, {rest['concurrency']} clients", "Kafka", f"{fixed['offered_per_s']}/s"),
        [
            ("invoices", *(p["invoices"] for p in phases)),
            ("outcome", *(p["statuses_by_country"] for p in phases)),
            ("intake→accepted", *(f"{p['invoices_per_s']}/s" for p in phases)),
            ("intake→submitted p50/p95/p99", *(_lat(p["intake_to_submitted_ms"]) for p in phases)),
            ("intake→accepted p50/p95/p99", *(_lat(p["intake_to_accepted_ms"]) for p in phases)),
            ("stage p50 (ms)", *(p["stage_p50_ms"] for p in phases)),
            (
                "CPU ms/invoice (net of idle)",
                *(p["cpu_ms_per_invoice"]["groups_net_of_idle"] for p in phases),
            ),
            ("CPU ms/invoice (as measured)", *(p["cpu_ms_per_invoice"]["groups"] for p in phases)),
            (
                "PostgreSQL statements/invoice",
                *(p["postgres"].get("statements_per_invoice", "n/a") for p in phases),
            ),
            (
                "PostgreSQL per invoice (pg_stat_database)",
                *(p["postgres"]["pg_stat_database_per_invoice"] for p in phases),
            ),
        ],
    )
    lines += ["", f"## intake→accepted by country at {fixed['offered_per_s']}/s offered", ""]
    lines += _table(
        ("country", "p50 / p95 / p99"),
        [(c, _lat(v)) for c, v in fixed["intake_to_accepted_ms_by_country"].items()],
    )
    lines += ["", "## POST /v1/invoices", ""]
    lines += _table(
        ("load", "p50", "p95", "p99"),
        [
            (
                (
                    f"{post['offered_per_s']}/s offered, open loop ({post['requests']} requests; "
                    f"generator lag ≤ {post['generator_max_lag_ms']} ms)"
                ),
                post["post_ms"]["p50"],
                post["post_ms"]["p95"],
                post["post_ms"]["p99"],
            ),
            (
                f"{rest['concurrency']} clients, closed loop",
                rest["post_ms_closed_loop"]["p50"],
                "",
                rest["post_ms_closed_loop"]["p99"],
            ),
        ],
    )
    processes = rest["cpu_ms_per_invoice"]["by_process"]
    lines += ["", "## CPU ms per invoice by process", ""]
    lines += _table(
        ("process", "idle ms/s", "REST", "REST net of idle", "Kafka net", "fixed load net"),
        [
            (
                name,
                result["idle_cpu_ms_per_s"].get(name, ""),
                processes[name],
                *(p["cpu_ms_per_invoice"]["by_process_net_of_idle"].get(name, "") for p in phases),
            )
            for name in processes
        ],
    )
    lines += ["", "## Government calls per accepted invoice (REST and Kafka phases)", ""]
    lines += _table(
        ("government", "accepted", "calls/accepted", "by endpoint"),
        [
            (gov, f["accepted"], f["per_accepted"], f["by_endpoint"])
            for gov, f in result["government_calls_per_accepted_invoice"].items()
        ],
    )
    statements = rest["postgres"].get("top_statements_per_invoice", [])
    lines += ["", f"## PostgreSQL (source: {rest['postgres']['source']}), REST phase", ""]
    lines += _table(
        ("calls/invoice", "statement"),
        [(s["calls"], f"`{s['query'].replace('|', '/')}`") for s in statements],
    )
    lines += ["", "## Validation cost and scaling", ""]
    lines += _table(
        ("metric", "value"),
        [
            (
                "validator+render+gates per RO document",
                (
                    f"{gate['validator_render_and_gates_ms']} ms (raw CEN transform "
                    f"{gate['raw_cen_transform_ms']} ms, ratio {gate['ratio']}; goal ≤ 1.5)"
                ),
            ),
            (
                f"1 → 2 converters ({scale['invoices']} invoices)",
                (
                    f"{scale['one_converter_per_s']}/s → {scale['two_converters_per_s']}/s "
                    f"(ratio {scale['ratio']})"
                ),
            ),
        ],
    )
    return "\n".join(lines)


def write_results(result: dict[str, Any]) -> None:
    """bench-results/bench.json (the figures) and bench.md (their tables, also printed)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "bench.json").write_text(json.dumps(result, indent=2))
    report = _markdown(result)
    (RESULTS_DIR / "bench.md").write_text(report + "\n")
    print(report)
