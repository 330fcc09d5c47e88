"""Hypothesis strategies for valid POST /v1/invoices bodies, one country at a time.

    from tests.strategies import valid_invoices

    @given(valid_invoices("DE"))
    def test_xrechnung_passes_kosit(body: dict[str, Any]) -> None: ...

Every body is JSON-ready (str, int, float, list, dict; amounts with at most 2 decimals, so a
float's repr is the exact decimal) and passes clearway.validation with no error finding, live
keys included: identifiers carry valid check digits. The mix covers invoices and credit notes,
several VAT rates (the rates in force on the drawn issue date), zero-rated (Z), exempt (E, with
reason and VATEX code), reverse charge (AE), intra-community supplies (K, to a customer in another
member state), line discounts, notes, payment means, public buyers (DE Leitweg-ID, IT PA office
codes) and small PDF attachments; credit notes without a due date, Romanian buyers not registered
for VAT, Polish corrections (KOR) and Polish invoices in other currencies (_issue_12_variants).
"""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal
from typing import Any

from clearway.countries.checksums import luhn_check_digit, mod97_10_check_digits
from clearway.countries.vat_rates import vat_rates_on
from clearway.governments.be import identifiers as be
from clearway.governments.de import identifiers as de
from clearway.governments.fr import identifiers as fr
from clearway.governments.it import identifiers as it
from clearway.governments.pl import identifiers as pl
from clearway.governments.ro import identifiers as ro
from hypothesis import strategies as st

COUNTRIES: tuple[str, ...] = ("RO", "IT", "BE", "PL", "FR", "DE")

# The smallest well-formed PDF (one empty page), so attachments are real documents.
_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
PDF_BASE64 = base64.b64encode(_PDF).decode("ascii")

_CURRENCY = {"RO": "RON", "PL": "PLN"}  # the others invoice in EUR
# Never after today (UTC, never ahead of Italy): SDI refuses an invoice dated later (00403).
_FIRST_ISSUE_DATE = dt.date(2019, 1, 1)
_LAST_ISSUE_DATE = min(dt.date(2026, 12, 31), dt.datetime.now(dt.UTC).date())

# One exemption reason per category and invoice (EN 16931 has one breakdown per category).
_EXEMPTION: dict[str, tuple[str, str]] = {
    "E": ("Exempt under Article 132 of Directive 2006/112/EC", "VATEX-EU-132"),
    "AE": ("Reverse charge", "VATEX-EU-AE"),
    "K": ("Intra-community supply", "VATEX-EU-IC"),
}
_NATURA = {"Z": "N3.6", "E": "N4", "AE": "N6.9", "K": "N3.2"}

_CITIES: dict[str, tuple[tuple[str, str], ...]] = {
    # (postal code prefix or format seed, city)
    "RO": (("40", "Cluj-Napoca"), ("30", "Timișoara"), ("70", "Iași"), ("50", "Brașov"),
           ("90", "Constanța"), ("01", "București"), ("03", "Bucharest"), ("06", "Sector 6")),
    "IT": (("20", "Milano"), ("00", "Roma"), ("10", "Torino"), ("80", "Napoli")),
    "BE": (("10", "Bruxelles"), ("20", "Antwerpen"), ("90", "Gent"), ("40", "Liège")),
    "PL": (("00", "Warszawa"), ("30", "Kraków"), ("80", "Gdańsk"), ("50", "Wrocław")),
    "FR": (("75", "Paris"), ("69", "Lyon"), ("13", "Marseille"), ("20", "Ajaccio")),
    "DE": (("10", "Berlin"), ("80", "München"), ("20", "Hamburg"), ("50", "Köln")),
}  # fmt: skip
_POSTAL_DIGITS = {"RO": 6, "IT": 5, "BE": 4, "PL": 5, "FR": 5, "DE": 5}
_STREETS = ("Main Street 1", "Strada Exemplu 42", "Via Roma 10", "Rue de la Loi 16",
            "ul. Marszałkowska 5", "Hauptstraße 7", "Bulevardul Unirii 10")  # fmt: skip
_COMPANIES = ("Acme", "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Hooli")
_FORMS = {"RO": "SRL", "IT": "S.r.l.", "BE": "BV", "PL": "sp. z o.o.", "FR": "SAS", "DE": "GmbH"}
_IBAN_BBAN_DIGITS = {"BE": 12, "PL": 24, "DE": 18}
# Peppol EAS schemes for a foreign buyer's VAT number (Belgian invoices travel over Peppol).
_VAT_EAS = {"DE": "9930", "FR": "9957", "IT": "0211"}
_DESCRIPTIONS = ("Consulting services", "Cloud hosting", "Software licence", "Hardware",
                 "Training day", "Maintenance", "Office supplies", "Freight")  # fmt: skip


def valid_invoices(country: str) -> st.SearchStrategy[dict[str, Any]]:
    """Valid InvoiceRequest bodies for invoices filed in `country` (one of COUNTRIES)."""
    if country not in COUNTRIES:
        raise ValueError(f"No strategy for {country!r}; one of {', '.join(COUNTRIES)}.")
    return _invoice(country)


def _digits(size: int, *, first_nonzero: bool = False) -> st.SearchStrategy[str]:
    # One draw per number, not per digit: generation dominates the run time.
    low = 10 ** (size - 1) if first_nonzero else 0
    return st.integers(low, 10**size - 1).map(lambda n: f"{n:0{size}d}")


@st.composite
def _vat_number(draw: st.DrawFn, country: str, *, prefixed: bool = True) -> str:
    """A VAT number of `country` with valid check digits."""
    if country == "RO":
        body = draw(_digits(draw(st.integers(2, 9)), first_nonzero=True))
        number = body + ro.cui_check_digit(body)
    elif country == "IT":
        # A serial (never all zeros) and a provincial office code (digits 8-10, 001-100).
        body = draw(_digits(7).filter(lambda b: int(b) != 0)) + f"{draw(st.integers(1, 100)):03d}"
        number = body + it.partita_iva_check_digit(body)
    elif country == "BE":
        body = draw(st.sampled_from("01")) + draw(_digits(7))
        number = body + be.enterprise_number_check_digits(body)
    elif country == "PL":
        body = draw(
            _digits(9, first_nonzero=True).filter(
                lambda b: b[1:3] != "00" and pl.nip_check_digit(b) is not None
            )
        )
        number = body + (pl.nip_check_digit(body) or "")
    elif country == "FR":
        siren = draw(_siren())
        number = fr.vat_key(siren) + siren
    else:
        body = draw(_digits(8, first_nonzero=True))
        number = body + de.ust_idnr_check_digit(body)
    return f"{country}{number}" if prefixed else number


@st.composite
def _siren(draw: st.DrawFn) -> str:
    body = draw(_digits(8, first_nonzero=True))
    return body + luhn_check_digit(body)


@st.composite
def _address(draw: st.DrawFn, country: str) -> dict[str, Any]:
    prefix, city = draw(st.sampled_from(_CITIES[country]))
    postal = prefix + draw(_digits(_POSTAL_DIGITS[country] - len(prefix)))
    if country == "PL":
        postal = f"{postal[:2]}-{postal[2:]}"
    address: dict[str, Any] = {
        "street": draw(st.sampled_from(_STREETS)),
        "city": city,
        "postalCode": postal,
        "country": country,
    }
    if country == "RO" and draw(st.booleans()):
        county = "B" if int(prefix) <= 6 else ro.COUNTY_BY_POSTAL_PREFIX[prefix]
        address["stateOrProvince"] = f"RO-{county}"
    return address


@st.composite
def _party(draw: st.DrawFn, country: str, invoice_country: str) -> dict[str, Any]:
    # EN 16931 syntaxes (RO, BE, FR, DE) carry the prefix; FatturaPA and FA(3) may go without.
    bare = invoice_country in ("IT", "PL") and country == invoice_country and draw(st.booleans())
    vat_number = draw(_vat_number(country, prefixed=not bare))
    name = f"{draw(st.sampled_from(_COMPANIES))} {country} {_FORMS[country]}"
    party: dict[str, Any] = {
        "vatNumber": vat_number,
        "name": name,
        "address": draw(_address(country)),
        "email": f"billing@{name.split(maxsplit=1)[0].lower()}.example",
        "phone": "+40 21 555 0101",
    }
    if country == "FR" and draw(st.booleans()):
        siren = vat_number[-fr.SIREN_LENGTH :]
        nic = draw(_digits(4))
        party["siret"] = siren + nic + luhn_check_digit(siren + nic)
    if country == "IT" and draw(st.booleans()):
        party["fiscalCode"] = draw(_codice_fiscale())
    return party


@st.composite
def _codice_fiscale(draw: st.DrawFn) -> str:
    letters = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    first15 = (
        draw(st.sampled_from(("RSSMRA", "BNCLCU", "VRDGPP", "FRRNNA")))
        + draw(_digits(2))
        + draw(st.sampled_from("ABCDEHLMPRST"))
        + f"{draw(st.integers(1, 28)) + draw(st.sampled_from((0, 40))):02d}"
        + draw(letters)
        + draw(_digits(3))
    )
    return first15 + it.codice_fiscale_check_char(first15)


@st.composite
def _iban(draw: st.DrawFn, country: str) -> str:
    if country == "RO":
        bban = draw(st.sampled_from(("BTRL", "RNCB", "BRDE"))) + draw(_digits(16))
    elif country == "IT":
        bban = draw(st.sampled_from("ABCDX")) + draw(_digits(22))
    elif country == "FR":
        bban = draw(_digits(23))
    else:
        bban = draw(_digits(_IBAN_BBAN_DIGITS[country]))
    return f"{country}{mod97_10_check_digits(bban + country)}{bban}"


@st.composite
def _leitweg_id(draw: st.DrawFn) -> str:
    coarse = draw(st.sampled_from(("04011000", "991", "992", "09564000", "05315000")))
    fine = draw(st.sampled_from(("", "1234512345", "NUE0001", "900X999")))
    middle = f"-{fine}" if fine else ""
    return f"{coarse}{middle}-{de.leitweg_id_check_digits(coarse, fine)}"


def _money(cents: int) -> float | int:
    return cents // 100 if cents % 100 == 0 else cents / 100


@st.composite
def _line(draw: st.DrawFn, kind: str, country: str, rates: list[Any]) -> dict[str, Any]:
    unit_cents = draw(st.integers(1, 500_000))
    line: dict[str, Any] = {
        "description": draw(st.sampled_from(_DESCRIPTIONS)),
        "quantity": _money(draw(st.integers(1, 100_00))),
        "unitPrice": _money(unit_cents),
        "unitCode": draw(st.sampled_from(("C62", "HUR", "DAY", "KGM"))),
    }
    if draw(st.integers(0, 3)) == 0:
        line["discount"] = _money(draw(st.integers(0, unit_cents)))
    if draw(st.booleans()):
        line["itemCode"] = f"SKU-{draw(st.integers(1, 99999))}"
    if kind == "S":
        rate = draw(st.sampled_from(rates))
        line["vatRate"] = int(rate) if rate == int(rate) else float(rate)
        if draw(st.booleans()):
            line["vatCategory"] = "S"
        return line
    line["vatRate"] = 0
    line["vatCategory"] = kind
    if kind in _EXEMPTION:
        reason, code = _EXEMPTION[kind]
        line["vatExemptionReason"] = reason
        line["vatExemptionReasonCode"] = code
    if country == "IT":
        line["natura"] = _NATURA[kind]
    return line


@st.composite
def _invoice(draw: st.DrawFn, country: str) -> dict[str, Any]:
    issue_date = draw(st.dates(_FIRST_ISSUE_DATE, _LAST_ISSUE_DATE))
    rates = sorted(r for r in vat_rates_on(country, issue_date) or () if r > 0)
    kinds = draw(st.lists(st.sampled_from(("S", "S", "S", "Z", "E", "AE", "K")), max_size=5))
    kinds = kinds or ["S"]
    intra_community = "K" in kinds
    customer_countries = [c for c in COUNTRIES if c != country] if intra_community else [country]
    if country == "BE":
        customer_countries = [c for c in customer_countries if c in (*_VAT_EAS, "BE")]
    customer_country = draw(st.sampled_from(customer_countries))

    supplier = draw(_party(country, country))
    customer = draw(_party(customer_country, country))
    invoice_type = draw(st.sampled_from(("invoice", "invoice", "credit_note")))
    body: dict[str, Any] = {
        "country": country,
        "invoiceType": invoice_type,
        "supplier": supplier,
        "customer": customer,
        "lines": [draw(_line(kind, country, rates)) for kind in kinds],
        "currency": _CURRENCY.get(country, "EUR"),
        "issueDate": issue_date.isoformat(),
    }
    sequence = draw(st.integers(1, 99999))
    if draw(st.integers(0, 3)) == 0:
        body["externalId"] = f"order-{sequence}"
    else:
        body["invoiceNumber"] = f"INV-{issue_date.year}-{sequence:05d}"

    _payment(draw, body, issue_date)

    if invoice_type == "credit_note":
        body["precedingInvoice"] = {
            "number": f"INV-{issue_date.year}-{max(sequence - 1, 1):05d}",
            "issueDate": (issue_date - dt.timedelta(days=draw(st.integers(0, 60)))).isoformat(),
        }
    if draw(st.booleans()):
        body["note"] = draw(st.sampled_from(("Thank you for your business.", "Order 4711.")))
    attachments = draw(st.integers(0, 2))
    if attachments:
        body["attachments"] = [
            {"filename": f"document-{n}.pdf", "content": PDF_BASE64, "mimeType": "application/pdf"}
            for n in range(1, attachments + 1)
        ]
    _country_specifics(draw, body)
    _issue_12_variants(draw, body)
    return body


def _payment(draw: st.DrawFn, body: dict[str, Any], issue_date: dt.date) -> None:
    """A due date or payment terms (BR-CO-25), and for Germany always an IBAN (BR-DE-1)."""
    country = body["country"]
    due_in = draw(st.one_of(st.none(), st.integers(0, 90)))
    if due_in is not None:
        body["dueDate"] = (issue_date + dt.timedelta(days=due_in)).isoformat()
    payment: dict[str, Any] = {}
    if country == "DE" or draw(st.booleans()):
        payment["bankAccount"] = draw(_iban(country))
        if draw(st.booleans()):
            payment["bic"] = "AAAABBCCXXX"
    if due_in is None or draw(st.booleans()):
        payment["paymentTerms"] = f"Net {draw(st.sampled_from((14, 30, 60)))} days"
    if payment:
        body["paymentMeans"] = payment


def _country_specifics(draw: st.DrawFn, body: dict[str, Any]) -> None:
    country, supplier, customer = body["country"], body["supplier"], body["customer"]
    if draw(st.booleans()):
        body["purchaseOrderReference"] = f"PO-{draw(st.integers(1, 9999))}"
    if country == "IT" and customer["address"]["country"] == "IT":
        recipient = draw(st.sampled_from(("b2b", "pec", "pa")))
        if recipient == "b2b":
            customer["sdiCode"] = draw(st.sampled_from(("M5UXCR1", "KRRH6B9", "T9K4ZHO")))
        elif recipient == "pec":
            customer["sdiCode"] = "0000000"
            customer["pec"] = "fatture@pec.cliente.it"
        else:
            customer["sdiCode"] = draw(st.sampled_from(("UFXXAB", "ABC123")))
    elif country == "BE":
        for party in (supplier, customer):
            party_country = party["address"]["country"]
            party["peppolId"] = (
                be.peppol_id_for(party["vatNumber"])
                if party_country == "BE"
                else f"{_VAT_EAS[party_country]}:{party['vatNumber']}"
            )
        if "purchaseOrderReference" not in body or draw(st.booleans()):
            body["buyerReference"] = f"REF-{draw(st.integers(1, 9999))}"
    elif country == "DE":
        _german_specifics(draw, body)


def _german_specifics(draw: st.DrawFn, body: dict[str, Any]) -> None:
    """XRechnung: every kind of buyer electronic address (PEPPOL-EN16931-R010), Skonto terms
    (BR-DE-18), and intra-community supplies, whose deliver-to address is the buyer's address
    (BR-DE-10/11: city and post code always, the street not always)."""
    supplier, customer = body["supplier"], body["customer"]
    supplier["phone"] = "+49 30 1234567"
    public = customer["address"]["country"] == "DE" and draw(st.booleans())
    if public:
        customer["leitwegId"] = draw(_leitweg_id())
    else:
        body["buyerReference"] = f"REF-{draw(st.integers(1, 9999))}"
    # The buyer's electronic addresses: any non-empty mix, so each kind also comes alone.
    kinds = ("email", "peppolId", "leitwegId") if public else ("email", "peppolId")
    chosen = draw(st.lists(st.sampled_from(kinds), min_size=1, unique=True))
    if "email" not in chosen:
        del customer["email"]
    if "peppolId" in chosen:
        scheme = _VAT_NUMBER_EAS[customer["address"]["country"]]
        customer["peppolId"] = f"{scheme}:{customer['vatNumber']}"
    # A public buyer without "leitwegId" chosen still has one: it is the buyer reference
    # (BR-DE-15), and the converter writes the peppolId or e-mail before it as the address.
    if any(line.get("vatCategory") == "K" for line in body["lines"]) and draw(st.booleans()):
        del customer["address"]["street"]
    if draw(st.booleans()):
        payment = body.setdefault("paymentMeans", {})
        payment["paymentTerms"] = draw(_skonto_terms(payment.get("paymentTerms")))


# Peppol EAS codes of the VAT numbers of each member state this corpus draws.
_VAT_NUMBER_EAS = {"DE": "9930", "FR": "9957", "IT": "0211", "BE": "9925", "RO": "9947",
                   "PL": "9945"}  # fmt: skip


def _amount_text(cents: int) -> str:
    return str(Decimal(cents).scaleb(-2))


@st.composite
def _skonto_terms(draw: st.DrawFn, text: str | None) -> str:
    """One to three #SKONTO# entries (BR-DE-18), some with a base amount, before or after any
    free text; XRechnung wants a line break after each, which the converter adds to the last."""
    entries = []
    for _ in range(draw(st.integers(1, 3))):
        entry = (
            f"#SKONTO#TAGE={draw(st.integers(1, 60))}"
            f"#PROZENT={_amount_text(draw(st.integers(0, 999)))}#"
        )
        if draw(st.booleans()):
            entry += f"BASISBETRAG={_amount_text(draw(st.integers(-99999, 999999)))}#"
        entries.append(entry)
    if not text:
        return "\n".join(entries)
    return "\n".join([*entries, text] if draw(st.booleans()) else [text, *entries])


# Foreign currencies a Polish invoice may be in, each with an exchange rate's order of magnitude.
_PLN_PER_UNIT = {
    "EUR": Decimal("4.25"),
    "USD": Decimal("3.9"),
    "CHF": Decimal("4.5"),
    "GBP": Decimal("5.1"),
}


def _issue_12_variants(draw: st.DrawFn, body: dict[str, Any]) -> None:
    """What found issue 12's defects: credit notes without a due date, Romanian buyers not
    registered for VAT, Polish corrections (KOR, debit notes too) and invoices in other
    currencies. Italian PA buyers (6-character sdiCode) come from _country_specifics."""
    country, customer = body["country"], body["customer"]
    if body["invoiceType"] == "credit_note" and draw(st.booleans()):
        # BR-CO-25 binds invoices only: a credit note may say nothing of when it is paid.
        body.pop("dueDate", None)
        payment = body.get("paymentMeans", {})
        payment.pop("paymentTerms", None)
        payment.pop("dueDate", None)
        if not payment:
            body.pop("paymentMeans", None)
    if country == "RO" and customer["address"]["country"] == "RO" and draw(st.booleans()):
        # A CUI without RO: a buyer not registered for VAT (BT-47 in CIUS-RO).
        customer["vatNumber"] = customer["vatNumber"].removeprefix("RO")
    if country == "PL":
        if body["invoiceType"] == "invoice" and draw(st.integers(0, 3)) == 0:
            issue_date = dt.date.fromisoformat(body["issueDate"])
            body["invoiceType"] = "debit_note"
            body["precedingInvoice"] = {
                "number": f"FV/{issue_date.year}/{draw(st.integers(1, 9999))}",
                "issueDate": (issue_date - dt.timedelta(days=draw(st.integers(0, 60)))).isoformat(),
            }
        if draw(st.booleans()):
            currency = draw(st.sampled_from(sorted(_PLN_PER_UNIT)))
            body["currency"] = currency
            ten_thousandths = draw(st.integers(-2000, 2000)) + int(_PLN_PER_UNIT[currency] * 10_000)
            body["exchangeRate"] = str(Decimal(ten_thousandths).scaleb(-4))
