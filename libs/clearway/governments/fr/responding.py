"""The buyer's response to a received invoice, through the Plateforme Agréée: the reform's
lifecycle status on the incoming flow (`POST /flows/{flowId}/lifecycle`, governments/fr/
client.py), 205 Approuvée to accept, 210 Refusée with its reason to reject. 204 Prise en charge
is optional in the lifecycle (205 and 210 may follow 203 Mise à disposition), so it is not sent.

A status once recorded cannot be recorded again (the platform answers 409: it cannot follow
itself), so after an attempt whose outcome is unknown the flow's lifecycle is read first: the
status already there is the receipt, and the supplier hears of the decision once.
"""

from __future__ import annotations

import json
from typing import Any

from clearway.domain.responses import BuyerResponse, Decision, ResponseReceipt
from clearway.governments.fr.client import BuyerStatus, PaClient, buyer_status

APPROVED = 205
REFUSED = 210


def status_of(response: BuyerResponse) -> BuyerStatus:
    """The lifecycle status that says the buyer's decision. Pure."""
    if response.decision is Decision.ACCEPT:
        return buyer_status(APPROVED)
    return buyer_status(REFUSED, response.reason)


def recorded_status(metadata: bytes, status: BuyerStatus) -> dict[str, Any] | None:
    """The entry of the flow's lifecycle (its metadata, the platform's JSON) that is `status`
    already; None when it is not there. Pure."""
    try:
        lifecycle = json.loads(metadata).get("lifecycle") or []
    except (ValueError, AttributeError):
        return None
    for entry in lifecycle:
        if isinstance(entry, dict) and entry.get("code") == status.code:
            return entry
    return None


class PaResponder:
    """Sends the buyer's status on one incoming flow."""

    def __init__(self, pa: PaClient, flow_id: str) -> None:
        self._pa = pa
        self._flow_id = flow_id

    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        status = status_of(response)
        if attempts:
            entry = recorded_status(await self._pa.flow_metadata(self._flow_id), status)
            if entry is not None:
                return self._receipt(entry.get("code"), entry.get("label"), found=True)
        recorded = await self._pa.send_buyer_status(self._flow_id, status)
        return self._receipt(recorded.code, recorded.label, found=False)

    def _receipt(self, code: Any, label: Any, *, found: bool) -> ResponseReceipt:
        details: dict[str, Any] = {"flowId": self._flow_id, "statusCode": code, "label": label}
        if found:
            details["alreadyRecorded"] = True  # an earlier attempt's answer was lost
        return ResponseReceipt(network_id=self._flow_id, details=details)
