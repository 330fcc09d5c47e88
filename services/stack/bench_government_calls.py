"""Government calls per accepted invoice: what each simulated government answered between two
counts (the simulator's `GET /_sim/calls`), over the invoices it accepted."""

from __future__ import annotations

from typing import Any

import httpx

from services.stack.bench_postgres import BenchDb
from services.stack.stack import Stack

# The simulator counts the Peppol access point's calls as BE's; it carries DE's B2B invoices too.
CARRIED_BY = {"BE": ("BE", "DE")}


async def government_calls(stack: Stack) -> dict[str, dict[str, int]]:
    """What each simulated government has answered so far, by endpoint (govsim/calls.py)."""
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=30) as http:
        response = await http.get("/_sim/calls")
        response.raise_for_status()
        counts: dict[str, dict[str, int]] = response.json()
        return counts


async def calls_per_accepted(
    db: BenchDb,
    before: dict[str, dict[str, int]],
    after: dict[str, dict[str, int]],
    ids: list[str],
) -> dict[str, Any]:
    """Government calls spent between two counts, per invoice of `ids` its government accepted,
    by the simulator's government (the Peppol access point's, "BE", carries DE's invoices too),
    in all and by endpoint. Everything the simulator answered counts, so calls of a stage
    running beside the phases (the inboxes' lists) are in the figure too."""
    rows = await db.fetch(
        "SELECT country, count(*) AS n FROM invoices WHERE id = ANY($1) AND status = 'accepted' "
        "GROUP BY country",
        ids,
    )
    accepted = {row["country"]: row["n"] for row in rows}
    figures: dict[str, Any] = {}
    for government, counts in sorted(after.items()):
        spent = {
            endpoint: n - before.get(government, {}).get(endpoint, 0)
            for endpoint, n in counts.items()
        }
        spent = {endpoint: n for endpoint, n in spent.items() if n}
        carried = CARRIED_BY.get(government, (government,))
        invoices = sum(accepted.get(country, 0) for country in carried)
        if not spent or not invoices:
            continue
        figures["+".join(carried)] = {
            "accepted": invoices,
            "calls": sum(spent.values()),
            "per_accepted": round(sum(spent.values()) / invoices, 3),
            "by_endpoint": {e: round(n / invoices, 3) for e, n in sorted(spent.items())},
        }
    return figures
