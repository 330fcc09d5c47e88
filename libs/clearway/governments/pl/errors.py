"""KSeF 2.0's invoice status codes (ksef-docs) and their Polish descriptions: "<code> <opis>"."""

from __future__ import annotations

from clearway.translation.message import Message

CLEARWAY_SIDE = (
    "Nothing in your invoice to change: this concerns how Clearway talks to KSeF. Clearway "
    "support can look into it with the invoice id."
)

MESSAGES: tuple[Message, ...] = (
    Message(
        "405",
        r"^405\b|anulowane z powodu błędu sesji",
        "KSeF cancelled the processing because the session failed.",
        "Nothing to change: send the invoice again.",
        None,
    ),
    Message(
        "410",
        r"^410\b|Nieprawidłowy zakres uprawnień",
        "The KSeF token of the connection may not issue invoices for this NIP.",
        "Generate a KSeF token with the right to issue invoices (InvoiceWrite) for the seller's "
        "NIP, connect it again (POST /v1/connections), and send the invoice again.",
        None,
    ),
    Message(
        "415",
        r"^415\b|z załącznikiem",
        "KSeF does not accept invoices with attachments for this seller.",
        "Remove /attachments, or register for attachments in KSeF first.",
        "/attachments",
    ),
    Message(
        "430",
        r"^430\b|Błąd weryfikacji pliku",
        "The invoice file did not pass KSeF's FA(3) schema check.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "435", r"^435\b|odszyfrowania", "KSeF could not decrypt the file.", CLEARWAY_SIDE, None
    ),
    Message(
        "440",
        r"^440\b|Duplikat faktury",
        "KSeF already has an invoice with this seller NIP, number and type: a duplicate.",
        "Do not send it again. If it is a different invoice, give it its own /invoiceNumber.",
        "/invoiceNumber",
    ),
    Message(
        "450",
        r"^450\b|semantyki",
        "The invoice failed KSeF's semantic checks.",
        "Correct what the details name and send the invoice again.",
        None,
    ),
    Message(
        "500",
        r"^500\b|Nieznany błąd",
        "KSeF had an unknown error.",
        "Nothing to change: send the invoice again later.",
        None,
    ),
    Message(
        "550",
        r"^550\b|anulowana przez system",
        "KSeF cancelled the operation.",
        "Nothing to change: send the invoice again.",
        None,
    ),
)
