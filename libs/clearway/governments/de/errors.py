"""German B2G platforms' (ZRE/OZG-RE) rejection reasons, and the Peppol access point's errors
(BE and DE B2B).

Each message: its code, the pattern that finds it, the English, the fix, the JSON pointer.
"""

from __future__ import annotations

from clearway.translation.message import Message

MESSAGES: tuple[Message, ...] = (
    Message(
        "LEITWEG-MISSING",
        r"Leitweg-ID \(BT-10, BuyerReference\) fehlt",
        "The Leitweg-ID (BT-10) is missing; public buyers in Germany require it.",
        "Give the buyer's Leitweg-ID in /buyerReference (or /customer/leitwegId).",
        "/buyerReference",
    ),
    Message(
        "LEITWEG-CHECK",
        r"Prüfziffer der Leitweg-ID (?P<id>\S+) ist falsch",
        "The Leitweg-ID {id} has wrong check digits.",
        "Correct /buyerReference: copy the Leitweg-ID from the buyer's order.",
        "/buyerReference",
    ),
    Message(
        "LEITWEG-FORMAT",
        r"Leitweg-ID .* entspricht nicht dem Format",
        "The Leitweg-ID is not in the form coarse-fine-check digits (e.g. 991-33333TEST-33).",
        "Correct /buyerReference.",
        "/buyerReference",
    ),
    Message(
        "LEITWEG-UNKNOWN",
        r"Leitweg-ID (?P<id>\S+) ist keinem Rechnungsempfänger zugeordnet",
        "No public buyer is registered under the Leitweg-ID {id}.",
        "Check /buyerReference against the buyer's order.",
        "/buyerReference",
    ),
    Message(
        # XRechnung's own rule, as the KoSIT validator words it (a receiving access point's
        # MLS rejection quotes it).
        "BR-DE-15",
        r"BR-DE-15|\"Buyer reference\" \(BT-10\) muss",
        "XRechnung requires the buyer reference (BT-10): the Leitweg-ID for a public buyer, "
        "else the reference the buyer gave you.",
        "Give /buyerReference.",
        "/buyerReference",
    ),
    Message(
        "NOT-XRECHNUNG",
        r"keine XRechnung",
        "The document is not an XRechnung 3.0.",
        "Nothing in your invoice to change: Clearway support can look into it with the invoice id.",
        None,
    ),
)

PEPPOL_MESSAGES: tuple[Message, ...] = (
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
