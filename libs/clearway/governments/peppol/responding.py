"""The buyer's response to an invoice received over Peppol (BE, DE): a Peppol BIS 3 Invoice
Response (invoice_response.py), AP to accept or RE with the reason to reject, sent through
Clearway's access point from the buyer's participant id to the supplier's, both read from the
received invoice's document.

The response's SBDH InstanceIdentifier is derived from the received invoice's id, so every
send of one response carries the same one: after an attempt whose answer was lost, the access
point is asked for it first, and what it has is the receipt (the supplier hears once).
"""

from __future__ import annotations

import datetime as dt

from clearway.domain.responses import BuyerResponse, ResponseReceipt
from clearway.governments.peppol.client import PeppolClient
from clearway.governments.peppol.invoice_response import (
    DOCUMENT_TYPE,
    PROCESS,
    instance_identifier,
    referenced_invoice,
    render_invoice_response,
    response_id,
)


class PeppolResponder:
    """Sends the buyer's Invoice Response to one received invoice (its id and document)."""

    def __init__(
        self, client: PeppolClient, received_id: str, document: bytes, *, today: dt.date
    ) -> None:
        self._client = client
        self._received_id = received_id
        self._document = document
        self._today = today

    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        invoice = referenced_invoice(self._document)  # what the response needs, or why not
        instance = instance_identifier(self._received_id)
        details = {
            "instanceIdentifier": instance,
            "responseId": response_id(self._received_id),
            "supplier": invoice.supplier.participant_id,
        }
        if attempts:
            found = await self._client.find(instance)
            if found is not None:
                return ResponseReceipt(
                    network_id=found.upload_id, details={**details, "alreadySent": True}
                )
        xml = render_invoice_response(
            invoice, response, response_id=response_id(self._received_id), issued=self._today
        )
        filed = await self._client.send(
            xml,
            sender=invoice.buyer.participant_id,
            receiver=invoice.supplier.participant_id,
            document_type=DOCUMENT_TYPE,
            instance_identifier=instance,
            process=PROCESS,
        )
        return ResponseReceipt(network_id=filed.upload_id, details=details)
