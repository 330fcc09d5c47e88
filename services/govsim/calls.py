"""How many calls each simulated government answered, by endpoint: what a benchmark divides by
the invoices it got decided (government calls per accepted invoice), and what a test reads to
show that a client asks once where it used to ask many times.

Every call to a government's API is counted, whatever the answer (a 429 or an outage's 503
too: the client spent it); the controls and the probes are not. `GET /_sim/calls` answers
{"RO": {"GET /stareMesaj": 12, …}, …}, keyed by the endpoint as the clients name it (sandbox
and production calls together).
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from services.govsim.windows import ALWAYS_UP

CONTROL_PATH = "/_sim/calls"

# Where each government's API lives on the simulator. The Peppol access point carries BE (and
# German B2B) invoices: its calls are BE's.
GOVERNMENT_OF_PREFIX = (
    ("/test/FCTEL/", "RO"),
    ("/prod/FCTEL/", "RO"),
    ("/anaf-oauth2/", "RO"),
    ("/v2/", "PL"),
    ("/sdi", "IT"),
    ("/peppol/", "BE"),
    ("/pa/", "FR"),
    ("/zre/", "DE"),
)


def government_of(path: str) -> str | None:
    return next((gov for prefix, gov in GOVERNMENT_OF_PREFIX if path.startswith(prefix)), None)


class CallCounts:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()

    def count(self, path: str, endpoint: str) -> None:
        government = government_of(path)
        if government is not None and not path.startswith(ALWAYS_UP):
            self._counts[government, endpoint] += 1

    def as_json(self) -> dict[str, dict[str, int]]:
        answer: dict[str, dict[str, int]] = {}
        for (government, endpoint), count in sorted(self._counts.items()):
            answer.setdefault(government, {})[endpoint] = count
        return answer

    def clear(self) -> None:
        self._counts.clear()


class _CountCalls:
    """Counts each call once the simulator has answered it, by the route's template, which the
    router leaves in the scope. A plain ASGI middleware: Starlette's request/response one costs
    the simulator more CPU than most of its answers."""

    def __init__(self, app: ASGIApp, counts: CallCounts) -> None:
        self.app = app
        self.counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)
        if scope["type"] == "http":
            path = scope["path"]
            template = getattr(scope.get("route"), "path_format", None) or path
            self.counts.count(path, f"{scope['method']} {template}")


def install_call_counts(app: FastAPI) -> CallCounts:
    """The middleware that counts every call to a government's API, and its controls. Installed
    last, it sees every call, an outage's too."""
    counts = CallCounts()

    app.add_middleware(_CountCalls, counts=counts)

    router = APIRouter(prefix=CONTROL_PATH, tags=["simulator control"])

    @router.get("")
    async def call_counts() -> dict[str, dict[str, int]]:
        return counts.as_json()

    @router.delete("", status_code=204)
    async def clear_call_counts() -> None:
        counts.clear()

    app.include_router(router)
    return counts
