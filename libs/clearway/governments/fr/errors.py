"""French platforms' (PA) rejections: CDAR status 213 Rejetée / 501 Irrecevable with a reason
code (REJ_SEMAN, REJ_UNI, …) and the reason in French.
"""

from __future__ import annotations

from clearway.translation.message import Message

MESSAGES: tuple[Message, ...] = (
    Message(
        "REJ_UNI",
        r"REJ_UNI|Doublon",
        "The platform already issued an invoice with this number for this seller: a duplicate.",
        "Do not send it again. If it is a different invoice, give it its own /invoiceNumber.",
        "/invoiceNumber",
    ),
    Message(
        "REJ_SEMAN-BT-1",
        r"Numéro de facture \(BT-1\)",
        "The invoice number (BT-1) is missing.",
        "Give /invoiceNumber.",
        "/invoiceNumber",
    ),
    Message(
        "REJ_SEMAN-BT-2",
        r"Date de facture \(BT-2\)",
        "The issue date (BT-2) is missing or invalid.",
        "Give /issueDate as YYYY-MM-DD.",
        "/issueDate",
    ),
    Message(
        "REJ_SEMAN-SIREN",
        r"SIREN (?P<role>du vendeur|de l'acheteur)",
        "The {party}'s SIREN (legal identifier, scheme 0002) is missing or invalid.",
        "Give the {party}'s 14-digit SIRET in /{party}/siret (its first 9 digits are the SIREN).",
        "/{party}/siret",
    ),
    Message(
        "IRRECEVABLE",
        r"Irrecevable|IRRECEVABLE",
        "The platform could not read the file (irrecevable).",
        "Nothing in your invoice to change: Clearway support can look into it with the invoice id.",
        None,
    ),
)
