"""The buyer's response to a received invoice: accept or reject (with its reason), sent back
to the supplier through the network that delivered it, where the network has such a message
(FR: the PA lifecycle status 205 Approuvée / 210 Refusée; BE, DE: a Peppol Invoice Response
AP / RE; IT: SDI's Notifica di Esito Committente EC01 / EC02, for a public administration; RO:
a RASP message in ANAF's SPV saying the decision and its reason).

One response per received invoice. Its stream events, after `invoice.received`:

    invoice.response_requested   the API recorded it (decision, reason)
    invoice.response_sent        the network took it (its id or receipt)
    invoice.response_failed      the network refused it for good (its reason)
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

# The tightest of the networks' reason fields: SDI's Descrizione (String255Latin), the
# Peppol Invoice Response's status reason and the PA's lifecycle reason take at least as much.
REASON_MAX_LENGTH = 255

RESPONSE_REQUESTED = "invoice.response_requested"
RESPONSE_SENT = "invoice.response_sent"
RESPONSE_FAILED = "invoice.response_failed"


class Decision(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"


class ResponseStatus(StrEnum):
    REQUESTED = "requested"  # recorded; the responder sends it
    SENT = "sent"  # the network took it
    FAILED = "failed"  # the network refused it for good


# A reason says something: not only white space, and no NUL (NO_NUL).
SAYS_SOMETHING = r"^[^\x00]*[^\s\x00][^\x00]*$"


class BuyerResponse(BaseModel):
    """The body of POST /v1/received-invoices/:id/response."""

    # The document says what the validator checks: a rejection requires its reason.
    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={
            "if": {"properties": {"decision": {"const": "reject"}}, "required": ["decision"]},
            "then": {"required": ["reason"], "properties": {"reason": {"type": "string"}}},
        },
    )

    decision: Decision = Field(description="accept or reject the invoice")
    reason: str | None = Field(
        default=None,
        min_length=1,
        max_length=REASON_MAX_LENGTH,
        pattern=SAYS_SOMETHING,
        description=f"Why; required to reject (at most {REASON_MAX_LENGTH} characters)",
        examples=["The delivered quantity differs from the order."],
    )

    @model_validator(mode="after")
    def _reject_says_why(self) -> BuyerResponse:
        if self.decision is Decision.REJECT and self.reason is None:
            raise ValueError("a rejection needs its reason")
        return self

    def metadata(self) -> dict[str, Any]:
        return {"decision": self.decision.value, "reason": self.reason}


class ResponseReceipt(BaseModel):
    """What the network answered a response it took: its own id and what else it said."""

    model_config = ConfigDict(frozen=True)

    network_id: str | None = None
    details: dict[str, Any] = {}

    def metadata(self) -> dict[str, Any]:
        return {"networkId": self.network_id, **self.details}
