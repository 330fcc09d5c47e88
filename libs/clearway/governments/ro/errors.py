"""ANAF e-Factura's messages: upload answers, stareMesaj, descarcare and list errors (texts from
ANAF's OpenAPI documents, their typos included), the validation report's CIUS-RO (BR-RO) and
EN 16931 rules, and the checks outside the schematron.
"""

from __future__ import annotations

from clearway.translation.message import Message

# ANAF quotes a CIF with or without its RO prefix ("CIF=RO12345678", "CIF=12345678"): the
# patterns take both and keep the digits.
_CIF = r"(?:RO\s?)?"

CLEARWAY_SIDE = (
    "Nothing in your invoice to change: this concerns how Clearway talks to ANAF. Clearway "
    "support can look into it with the invoice id."
)
RETRIED = "Nothing to change: Clearway tries again by itself."
COMPUTED_TOTALS = (
    "Clearway computes the totals from /lines: check each line's quantity, unitPrice, discount "
    "and vatRate (at most 2 decimals for prices), then send the invoice again."
)
SPV_RIGHTS = (
    "The ANAF user who authorized the connection needs SPV rights for the company (granted "
    "by its legal representative with form 150, or as its registered e-Factura user); then "
    "authorize the connection again (POST /v1/connections) and send the invoice again."
)


def _rule(rule: str) -> str:
    """A validation report message names its rule as "[BR-RO-100]"."""
    return rf"\[{rule}\]"


MESSAGES: tuple[Message, ...] = (
    # --- CIUS-RO rules (the validation report of a `nok` message) ----------------------------
    Message(
        "BR-RO-001",
        _rule("BR-RO-001"),
        "The document does not declare the CIUS-RO specification (BT-24).",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "BR-RO-010",
        _rule("BR-RO-010"),
        "The invoice number (BT-1) must contain at least one digit.",
        "Give /invoiceNumber (or /externalId, which is used when there is no invoiceNumber) a "
        "value with at least one digit, e.g. INV-2025-0042.",
        "/invoiceNumber",
    ),
    Message(
        "BR-RO-020",
        _rule("BR-RO-020"),
        "ANAF accepts only invoice type codes 380, 381, 384, 389 and 751.",
        "Set /invoiceType to 'invoice' or 'credit_note'.",
        "/invoiceType",
    ),
    Message(
        "BR-RO-030",
        _rule("BR-RO-030"),
        "An invoice in a currency other than RON must also state its VAT total in RON.",
        "Issue the invoice in RON (/currency).",
        "/currency",
    ),
    Message(
        "BR-RO-065",
        _rule("BR-RO-065"),
        "The seller's VAT identifier (BT-31) or tax registration identifier (BT-32) is missing.",
        "Give the supplier's CUI in /supplier/vatNumber (RO prefix for VAT payers).",
        "/supplier/vatNumber",
    ),
    Message(
        "BR-RO-080",
        r"\[BR-RO-08\d\]",
        "The {party}'s street (address line 1) is required.",
        "Add /{party}/address/street.",
        "/{party}/address/street",
    ),
    Message(
        "BR-RO-090",
        r"\[BR-RO-09\d\]",
        "The {party}'s city is required.",
        "Add /{party}/address/city.",
        "/{party}/address/city",
    ),
    Message(
        "BR-RO-100",
        _rule("BR-RO-100"),
        "The seller's address is in Bucharest (county RO-B), so its city must be the sector: "
        "one of SECTOR1 to SECTOR6.",
        "Say which sector: set /supplier/address/city to e.g. 'Sector 3', or give the "
        "Bucharest postal code (01xxxx to 06xxxx) in /supplier/address/postalCode.",
        "/supplier/address/city",
    ),
    Message(
        "BR-RO-101",
        _rule("BR-RO-101"),
        "The buyer's address is in Bucharest (county RO-B), so its city must be the sector: "
        "one of SECTOR1 to SECTOR6.",
        "Say which sector: set /customer/address/city to e.g. 'Sector 3', or give the "
        "Bucharest postal code (01xxxx to 06xxxx) in /customer/address/postalCode.",
        "/customer/address/city",
    ),
    Message(
        "BR-RO-110",
        _rule("BR-RO-110"),
        "The seller's county (BT-39) must be an ISO 3166-2:RO code such as RO-CJ.",
        "Set /supplier/address/stateOrProvince to the county code (e.g. RO-CJ, or RO-B for "
        "Bucharest), or give a valid 6-digit Romanian /supplier/address/postalCode.",
        "/supplier/address/stateOrProvince",
    ),
    Message(
        "BR-RO-111",
        _rule("BR-RO-111"),
        "The buyer's county (BT-54) must be an ISO 3166-2:RO code such as RO-CJ.",
        "Set /customer/address/stateOrProvince to the county code (e.g. RO-CJ, or RO-B for "
        "Bucharest), or give a valid 6-digit Romanian /customer/address/postalCode.",
        "/customer/address/stateOrProvince",
    ),
    Message(
        "BR-RO-120",
        _rule("BR-RO-120"),
        "The buyer's VAT identifier or legal registration identifier is missing.",
        "Give the buyer's CUI (or CNP) in /customer/vatNumber.",
        "/customer/vatNumber",
    ),
    Message(
        "BR-RO-160",
        r"\[BR-RO-1[67]\d\]",
        "The tax representative's address is incomplete for CIUS-RO.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "BR-RO-202",
        r"\[BR-RO-2[01]\d\]",
        "The delivery address is incomplete for CIUS-RO.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "BR-RO-L050",
        r"\[BR-RO-L050\]",
        "A city name is longer than CIUS-RO's 50 characters.",
        "Shorten /{party}/address/city to at most 50 characters.",
        "/{party}/address/city",
    ),
    Message(
        "BR-RO-L",
        r"\[BR-RO-L(?P<limit>\d{3})\]",
        "A text is longer than CIUS-RO allows for that field (limit code L{limit}).",
        "Shorten the field the message names: names and numbers to 200 characters, streets "
        "to 150, descriptions, e-mails and phones to 100, the note to 300.",
        None,
    ),
    # --- EN 16931 rules ANAF reports -----------------------------------------------------------
    Message(
        "BR-06",
        _rule("BR-06"),
        "The seller's name is missing.",
        "Add /supplier/name.",
        "/supplier/name",
    ),
    Message(
        "BR-07",
        _rule("BR-07"),
        "The buyer's name is missing.",
        "Add /customer/name.",
        "/customer/name",
    ),
    Message(
        "BR-08",
        _rule("BR-08"),
        "The seller's postal address is missing.",
        "Add /supplier/address.",
        "/supplier/address",
    ),
    Message(
        "BR-10",
        _rule("BR-10"),
        "The buyer's postal address is missing.",
        "Add /customer/address.",
        "/customer/address",
    ),
    Message(
        "BR-09",
        _rule("BR-09"),
        "The seller's country code is missing.",
        "Add /supplier/address/country.",
        "/supplier/address/country",
    ),
    Message(
        "BR-11",
        _rule("BR-11"),
        "The buyer's country code is missing.",
        "Add /customer/address/country.",
        "/customer/address/country",
    ),
    Message(
        "BR-16",
        _rule("BR-16"),
        "The invoice has no line.",
        "Add at least one line to /lines.",
        "/lines",
    ),
    Message(
        "BR-CO-09",
        _rule("BR-CO-09"),
        "A VAT identifier must start with its country's prefix (e.g. RO).",
        "Write /supplier/vatNumber (and /customer/vatNumber) with the country prefix, e.g. "
        "RO12345678.",
        "/supplier/vatNumber",
    ),
    Message(
        "BR-TOTALS",
        r"\[BR-(?:12|13|14|15|CO-10|CO-11|CO-12|CO-13|CO-14|CO-15|CO-16|S-08|S-09|E-08|Z-08)\]",
        "The invoice's totals do not add up as EN 16931 requires (line sums, VAT per rate, "
        "amount due).",
        COMPUTED_TOTALS,
        "/lines",
    ),
    # --- checks outside the schematron ---------------------------------------------------------
    Message(
        "CIF-MISMATCH",
        rf"CIF-ul (?:vanzatorului|cumparatorului)[^(]*\({_CIF}(?P<document>\d*)\)[^(]*"
        rf"\({_CIF}(?P<upload>\d+)\)",
        "The seller's CIF in the invoice ({document}) is not the CIF it was uploaded for "
        "({upload}).",
        "Send the invoice under the company whose CUI is /supplier/vatNumber: correct the VAT "
        "number, or name the right company in /companyId.",
        "/supplier/vatNumber",
    ),
    Message(
        "ERRIdentif",
        r"ERRIdentif",
        "A CUI or CNP in the invoice has a wrong check digit.",
        "Check /supplier/vatNumber and /customer/vatNumber: a CUI's last digit is a check digit.",
        "/customer/vatNumber",
    ),
    Message(
        "XML-SCHEMA",
        r"(?:Fisierul transmis nu este valid|Eroare la validarea xml).*?(?:lineNumber: "
        r"(?P<line>\d+))?",
        "ANAF could not read the XML: it does not follow the UBL schema.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "NOT-TAKEN",
        r"XML cu erori nepreluat de sistem",
        "ANAF could not take the XML into processing: it is not a readable e-Factura document.",
        CLEARWAY_SIDE,
        None,
    ),
    # --- upload answers --------------------------------------------------------------------------
    Message(
        "UPLOAD-SIZE",
        r"Marime fisier transmis mai mare de 10 MB",
        "The XML is larger than ANAF's 10 MB limit.",
        "Send fewer or smaller /attachments: they travel inside the XML.",
        "/attachments",
    ),
    Message(
        "UPLOAD-CIF-NOT-NUMBER",
        r"CIF introdus= ?(?P<cif>\S*) nu este un numar",
        "The CIF '{cif}' Clearway uploaded for is not a number.",
        "Give /supplier/vatNumber as RO followed by the CUI's digits, e.g. RO12345678.",
        "/supplier/vatNumber",
    ),
    Message(
        "SPV-NO-CIF",
        r"Nu exista niciun CIF (?:pentru|petru) care sa aveti drept",
        "The ANAF user who authorized Clearway has rights in SPV for no company at all.",
        SPV_RIGHTS,
        None,
    ),
    Message(
        "SPV-NO-RIGHT",
        rf"Nu aveti drept in SPV pentru CIF ?= ?{_CIF}(?P<cif>\d+)",
        "The ANAF user who authorized Clearway has no SPV rights for CIF {cif}.",
        "Check that /supplier/vatNumber is the company's CUI; if it is, the ANAF user who "
        "authorized the connection needs SPV rights for CIF {cif}: authorize the connection "
        "again (POST /v1/connections) with a user who has them, and send the invoice again.",
        "/supplier/vatNumber",
    ),
    Message(
        "UPLOAD-PARAMETERS",
        r"Valorile acceptate pentru parametrul|Daca parametrul \w+ trebuie completat|"
        r"Parametrii .* sunt obligatorii|Trebuie sa aveti atasat in request",
        "ANAF refused the upload's parameters.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "ENFORCEMENT-REGISTER",
        r"nu este inregistrat in Registrul RO e-Factura executari silite",
        "The company is not in ANAF's register of enforcement filers.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "TECHNICAL",
        r"A aparut o eroare tehnica",
        "ANAF had a technical error and registered nothing.",
        RETRIED,
        None,
    ),
    # --- limits ----------------------------------------------------------------------------------
    Message(
        "CALLS-PER-MINUTE",
        r"S-au facut deja (?P<n>\d+) de apeluri",
        "ANAF's limit of {n} calls a minute was reached.",
        RETRIED,
        None,
    ),
    Message(
        "DAILY-QUOTA",
        r"S-au (?:facut|incarcat) deja (?P<n>\d+) (?:descarcari|interogari|de mesaje)",
        "ANAF's daily limit ({n}) for this kind of call was reached.",
        "Nothing to change: Clearway asks again the next day (ANAF's days are Romanian time).",
        None,
    ),
    # --- stareMesaj, descarcare, lists -----------------------------------------------------------
    Message(
        "STATUS-NO-RIGHT",
        r"Nu aveti dreptul de (?:interogare|inteorgare) pentru id_incarcare",
        "The ANAF user behind the connection may not see this upload.",
        SPV_RIGHTS,
        None,
    ),
    Message(
        "STATUS-UNKNOWN-UPLOAD",
        r"Nu exista factura cu id_incarcare ?= ?(?P<id>\S+)",
        "ANAF has no upload with index {id}.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "NOT-AN-INTEGER",
        r"introdus ?= ?\S* nu este un numar intreg",
        "An index Clearway sent ANAF is not a number.",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "DOWNLOAD-NO-RIGHT",
        r"Nu aveti dreptul sa descarcati",
        "The ANAF user behind the connection may not download this message.",
        SPV_RIGHTS,
        None,
    ),
    Message(
        "DOWNLOAD-UNKNOWN",
        r"Pentru id ?= ?(?P<id>\S+) nu exista inregistrata nici o factura",
        "ANAF has no message with download id {id} (messages are kept about 60 days).",
        CLEARWAY_SIDE,
        None,
    ),
    Message(
        "LIST-EMPTY",
        r"Nu exista mesaje in",
        "ANAF has no message in that period.",
        "Nothing to change.",
        None,
    ),
)
