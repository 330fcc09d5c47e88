"""Sandbox scenarios: how a sk_test_ caller makes the government simulator misbehave for one
invoice, to see what Clearway does about it. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum

# On POST /v1/invoices (and as a Kafka header on invoices.intake); the submitter passes it on,
# under the same name, to the simulator with the upload.
SANDBOX_SCENARIO_HEADER = "X-Clearway-Sandbox-Scenario"
# Beside it, to the simulators whose uploads differ at every try (KSeF encrypts each with a new
# key): which invoice the scenario is for, so a retry meets the scenario's later steps.
SANDBOX_INVOICE_HEADER = "X-Clearway-Invoice-Id"


class SandboxScenario(StrEnum):
    REJECT = "reject"  # the government rejects the invoice (a real rejection message)
    TRANSIENT_ERROR = "transient_error"  # the first two uploads fail with HTTP 503
    TIMEOUT = "timeout"  # the first upload is registered but its answer is lost (HTTP 504)
    RATE_LIMITED = "rate_limited"  # the first upload is refused with 429 and Retry-After
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - the connection's token is refused once
    SLOW = "slow"  # the government takes its time to answer and to decide
    # ANAF only: its downloads of the decided message are throttled (429, Retry-After) 11 times
    DOWNLOAD_THROTTLED = "download_throttled"
    # ANAF only: stareMesaj says `nok` with the errors inline and nothing to download
    REJECTED_INLINE = "rejected_inline"
    # The buyer is not on the network: the sandbox Peppol SMP lists any well-formed participant
    # and the sandbox ZRE knows any well-formed Leitweg-ID, except for an invoice sent with this.
    RECEIVER_UNKNOWN = "receiver_unknown"


def parse_scenario(value: str | None) -> SandboxScenario | None:
    """None for no header; ValueError naming the accepted values for an unknown one."""
    if value is None or not value.strip():
        return None
    try:
        return SandboxScenario(value.strip().lower())
    except ValueError:
        accepted = ", ".join(s.value for s in SandboxScenario)
        raise ValueError(f"Unknown sandbox scenario {value!r}; accepted: {accepted}.") from None


def scenario_headers(scenario: str | None, invoice_id: str, *, livemode: bool) -> dict[str, str]:
    """The headers a submitter adds to its filing call: none for live invoices."""
    if scenario is None or livemode:
        return {}
    return {SANDBOX_SCENARIO_HEADER: scenario, SANDBOX_INVOICE_HEADER: invoice_id}


def lookup_headers(scenario: str | None, *, livemode: bool) -> dict[str, str]:
    """The headers a receiver lookup (the Peppol SMP) carries before the filing call: only
    `receiver_unknown`, which is about the receiver. The other scenarios play on the filing
    call itself, so the lookup must not spend their first misbehaving calls."""
    if livemode or scenario != SandboxScenario.RECEIVER_UNKNOWN.value:
        return {}
    return {SANDBOX_SCENARIO_HEADER: scenario}
