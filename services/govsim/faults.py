"""Injected faults and sandbox scenarios: what makes a simulated call misbehave."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from clearway.domain.sandbox import SANDBOX_INVOICE_HEADER, SANDBOX_SCENARIO_HEADER, SandboxScenario
from fastapi import Request

# --- fault injection -----------------------------------------------------------------------


class FaultKind(StrEnum):
    """What a queued fault does to the call it hits."""

    HTTP_500 = "http_500"  # nothing happens; HTTP 500
    HTTP_503 = "http_503"  # nothing happens; HTTP 503 from the gateway
    HTTP_429 = "http_429"  # nothing happens; HTTP 429 with Retry-After
    LOST_RESPONSE = "lost_response"  # the call takes effect, but the caller gets HTTP 504


@dataclass(frozen=True)
class QueuedFault:
    kind: FaultKind
    retry_after_seconds: int
    path_contains: str | None  # None: the next call of any path

    def matches(self, path: str) -> bool:
        return self.path_contains is None or self.path_contains in path

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "retry_after_seconds": self.retry_after_seconds,
            "path_contains": self.path_contains,
        }


class FaultQueue:
    """Faults for the next calls, in the order they were queued."""

    def __init__(self) -> None:
        self._queue: deque[QueuedFault] = deque()

    def add(self, fault: QueuedFault, count: int) -> None:
        self._queue.extend([fault] * count)

    def take(self, path: str) -> QueuedFault | None:
        for fault in self._queue:
            if fault.matches(path):
                self._queue.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        self._queue.clear()

    @property
    def pending(self) -> list[dict[str, Any]]:
        return [fault.as_json() for fault in self._queue]


# --- sandbox scenarios ---------------------------------------------------------------------

SCENARIO_TRANSIENT_FAILURES = 2  # `transient_error`: this many 503s before the call works
SCENARIO_SLOW_SECONDS = 1.5  # `slow`: each such call is answered this late


class ScenarioPlays:
    """Sandbox scenarios as faults: a call carrying Clearway's scenario and invoice headers
    misbehaves as the scenario says for that invoice's first calls, then works. `reject`,
    `token_expired` and the slow decision are the country's own (its routes read the header)."""

    def __init__(self) -> None:
        self._calls: Counter[tuple[str, str]] = Counter()

    def fault_for(self, request: Request) -> tuple[QueuedFault | None, bool]:
        """The fault this call meets (or None), and whether to answer it late."""
        scenario = scenario_of(request)
        invoice = request.headers.get(SANDBOX_INVOICE_HEADER)
        if scenario is None or not invoice:
            return None, False
        self._calls[scenario.value, invoice] += 1
        call = self._calls[scenario.value, invoice]
        if scenario is SandboxScenario.TRANSIENT_ERROR and call <= SCENARIO_TRANSIENT_FAILURES:
            return QueuedFault(FaultKind.HTTP_503, 0, None), False
        if scenario is SandboxScenario.RATE_LIMITED and call == 1:
            return QueuedFault(FaultKind.HTTP_429, 1, None), False
        if scenario is SandboxScenario.TIMEOUT and call == 1:
            return QueuedFault(FaultKind.LOST_RESPONSE, 0, None), False
        return None, scenario is SandboxScenario.SLOW


def scenario_of(request: Request) -> SandboxScenario | None:
    try:
        return SandboxScenario(request.headers.get(SANDBOX_SCENARIO_HEADER, "").strip().lower())
    except ValueError:
        return None


class CredentialExpiry:
    """The `token_expired` scenario where the credential is Clearway's own (an API key, a client
    certificate): the first call carrying it for an invoice is refused, as at a rotation, and
    the retry goes through."""

    def __init__(self) -> None:
        self._played: set[str] = set()  # the invoices it has refused a call for

    def refuses(self, request: Request) -> bool:
        invoice_id = request.headers.get(SANDBOX_INVOICE_HEADER, "")
        if (
            scenario_of(request) is not SandboxScenario.TOKEN_EXPIRED
            or not invoice_id
            or invoice_id in self._played
        ):
            return False
        self._played.add(invoice_id)
        return True

    def clear(self) -> None:
        self._played.clear()
