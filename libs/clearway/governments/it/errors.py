"""SDI's error codes, as a notifica di scarto (NS) lists them: "<Codice>: <Descrizione>"."""

from __future__ import annotations

from clearway.translation.message import Message

CLEARWAY_SIDE = (
    "Nothing in your invoice to change: this concerns the file Clearway sent SDI. Clearway "
    "support can look into it with the invoice id."
)

MESSAGES: tuple[Message, ...] = (
    # SdIRiceviFile's ErroreInvio: the file was not taken at all (no IdentificativoSdI).
    Message("EI01", r"\bEI01\b", "SDI received an empty file.", CLEARWAY_SIDE, None),
    Message(
        "EI03",
        r"\bEI03\b",
        "SDI does not accept files from this transmission channel (utente non abilitato).",
        "Nothing in your invoice to change: check the company's SDI channel accreditation and "
        "upload its certificate again (POST /v1/connections/:id/certificate).",
        None,
    ),
    Message(
        "FILE_TOO_LARGE",
        r"file troppo grande",
        "The file is larger than SDI accepts (5 MB).",
        "Make /attachments smaller or send fewer of them.",
        "/attachments",
    ),
    Message("00001", r"\b00001\b", "SDI refused the file name.", CLEARWAY_SIDE, None),
    Message(
        "00002", r"\b00002\b", "SDI already received a file with this name.", CLEARWAY_SIDE, None
    ),
    Message(
        "00102",
        r"\b00102\b",
        "The file's signature is not valid.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "00200",
        r"\b00200\b",
        "The file does not follow the FatturaPA schema.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "00301",
        r"\b00301\b",
        "The seller's VAT number (IdFiscaleIVA) is not valid in the Italian tax register.",
        "Correct /supplier/vatNumber (IT + 11 digits of the Partita IVA).",
        "/supplier/vatNumber",
    ),
    Message(
        "00305",
        r"\b00305\b",
        "The buyer's VAT number (IdFiscaleIVA) is not valid in the Italian tax register.",
        "Correct /customer/vatNumber (IT + 11 digits of the Partita IVA).",
        "/customer/vatNumber",
    ),
    Message(
        "00311",
        r"\b00311\b",
        "The recipient code (CodiceDestinatario) is not a registered SDI channel.",
        "Correct /customer/sdiCode (7 characters for businesses, 6 for public "
        "administrations), or use 0000000 with the buyer's /customer/pec.",
        "/customer/sdiCode",
    ),
    Message(
        "00404",
        r"\b00404\b",
        "SDI already has an invoice with this number, date and seller: it is a duplicate.",
        "Do not send it again. If it is a different invoice, give it its own /invoiceNumber.",
        "/invoiceNumber",
    ),
    Message(
        "00417",
        r"\b00417\b",
        "The buyer has neither a VAT number nor a codice fiscale.",
        "Give /customer/vatNumber or /customer/fiscalCode.",
        "/customer/vatNumber",
    ),
    Message(
        "00426",
        r"\b00426\b",
        "A PEC address was given although the recipient code is not 0000000.",
        "Either remove /customer/pec, or set /customer/sdiCode to 0000000.",
        "/customer/pec",
    ),
    Message(
        "00427",
        r"\b00427\b",
        "The recipient code's length does not fit the transmission format (7 characters for "
        "businesses, 6 for public administrations).",
        "Correct /customer/sdiCode.",
        "/customer/sdiCode",
    ),
    Message(
        "00428",
        r"\b00428\b",
        "The transmission format (FPR12/FPA12) does not match the file.",
        CLEARWAY_SIDE,
        None,
    ),
)
