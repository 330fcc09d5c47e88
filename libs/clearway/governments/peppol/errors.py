"""The Peppol access point's errors (BE, and DE B2B)."""

from __future__ import annotations

from clearway.translation.message import Message

MESSAGES: tuple[Message, ...] = (
    Message(
        "RECEIVER_NOT_FOUND",
        r"RECEIVER_NOT_FOUND|is not registered in the SMP",
        "The buyer is not registered on the Peppol network under this identifier.",
        "Check /customer/peppolId (e.g. 0208:0123456749 for a Belgian enterprise number).",
        "/customer/peppolId",
    ),
    Message(
        "NO_RECEIVER_ID",
        r"NO_RECEIVER_ID|has no Peppol participant id",
        "The buyer has no Peppol participant id, and none follows from its VAT number.",
        "Set /customer/peppolId (scheme:identifier, e.g. 0208:0123456749 or 9930:DE123456789).",
        "/customer/peppolId",
    ),
    Message(
        "DOCUMENT_TYPE_NOT_SUPPORTED",
        r"DOCUMENT_TYPE_NOT_SUPPORTED|does not accept",
        "The buyer's Peppol access point does not receive this document type.",
        "Ask the buyer which document types it receives on Peppol.",
        "/customer/peppolId",
    ),
    Message(
        # Peppol BIS Billing 3.0's rule, in its validation artefacts' words; a receiving
        # access point's MLS (response code RE) quotes the rules the document broke.
        "PEPPOL-EN16931-R003",
        r"PEPPOL-EN16931-R003",
        "Peppol requires a buyer reference or a purchase order reference; the invoice has neither.",
        "Give /buyerReference (the reference the buyer gave you) or /purchaseOrderReference.",
        "/buyerReference",
    ),
    Message(
        "AS4-DELIVERY-FAILED",
        r"AS4 delivery failed",
        "The buyer's access point did not take the document over AS4: it was not delivered.",
        "Check /customer/peppolId with the buyer, then send the invoice again "
        "(POST /v1/invoices with a new X-Idempotency-Key).",
        "/customer/peppolId",
    ),
)
