"""Clients of the government systems, and what every one of their calls leaves behind."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class GovCall(BaseModel):
    """One call to a government: what an invoice's events show as its `attempts`."""

    model_config = ConfigDict(frozen=True)

    endpoint: str  # e.g. "POST /upload"
    http_status: int | None  # None: no answer (refused, timed out)
    duration_ms: int
    outcome: str  # "ok", "http_503", "timeout", "lost_response", "connect_error", …

    def public(self, attempt: int) -> dict[str, object]:
        return {
            "attempt": attempt,
            "endpoint": self.endpoint,
            "httpStatus": self.http_status,
            "durationMs": self.duration_ms,
            "outcome": self.outcome,
        }
