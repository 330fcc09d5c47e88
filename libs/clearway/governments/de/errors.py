"""German B2G platforms' (ZRE/OZG-RE) rejection reasons (DE B2B travels over Peppol: its
errors are clearway.governments.peppol.errors).
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
