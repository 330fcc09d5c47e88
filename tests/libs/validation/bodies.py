"""A clean invoice body per country, with real, check-digit-valid public company identifiers, and
helpers to see which rules a variation of it breaks."""

from __future__ import annotations

import copy
from typing import Any

from clearway.domain.invoice import InvoiceRequest
from clearway.validation import Finding, ValidationReport, validate_invoice

Body = dict[str, Any]

_PARTIES: dict[str, tuple[Body, Body]] = {
    "RO": (
        {"vatNumber": "RO18547290", "name": "Furnizor SRL",
         "address": {"street": "Strada Exemplu 42", "city": "Bucharest", "postalCode": "010101",
                     "country": "RO", "stateOrProvince": "RO-B"}},
        {"vatNumber": "RO14399840", "name": "Client SRL",
         "address": {"street": "Bulevardul Unirii 10", "city": "Cluj-Napoca",
                     "postalCode": "400001", "country": "RO", "stateOrProvince": "RO-CJ"}},
    ),
    "IT": (
        {"vatNumber": "IT00743110157", "name": "Fornitore S.r.l.",
         "address": {"street": "Via Roma 10", "city": "Milano", "postalCode": "20121",
                     "country": "IT"}},
        {"vatNumber": "IT00905811006", "name": "Cliente S.p.A.", "sdiCode": "M5UXCR1",
         "address": {"street": "Piazzale Mattei 1", "city": "Roma", "postalCode": "00144",
                     "country": "IT"}},
    ),
    "BE": (
        {"vatNumber": "BE0417497106", "name": "Leverancier BV", "peppolId": "0208:0417497106",
         "address": {"street": "Grote Markt 1", "city": "Leuven", "postalCode": "3000",
                     "country": "BE"}},
        {"vatNumber": "BE0403170701", "name": "Klant NV", "peppolId": "0208:0403170701",
         "address": {"street": "Rue de la Loi 16", "city": "Bruxelles", "postalCode": "1000",
                     "country": "BE"}},
    ),
    "PL": (
        {"vatNumber": "PL5260250995", "name": "Dostawca sp. z o.o.",
         "address": {"street": "ul. Marszałkowska 5", "city": "Warszawa",
                     "postalCode": "00-001", "country": "PL"}},
        {"vatNumber": "PL7740001454", "name": "Nabywca S.A.",
         "address": {"street": "ul. Chemików 7", "city": "Płock", "postalCode": "09-411",
                     "country": "PL"}},
    ),
    "FR": (
        {"vatNumber": "FR40303265045", "name": "Fournisseur SAS",
         "address": {"street": "Rue de Rivoli 1", "city": "Paris", "postalCode": "75001",
                     "country": "FR"}},
        {"vatNumber": "FR83404833048", "name": "Client SA",
         "address": {"street": "Cours Lafayette 10", "city": "Lyon", "postalCode": "69003",
                     "country": "FR"}},
    ),
    "DE": (
        {"vatNumber": "DE136695976", "name": "Lieferant GmbH", "email": "rechnung@lieferant.de",
         "phone": "+49 30 1234567",
         "address": {"street": "Hauptstraße 7", "city": "Berlin", "postalCode": "10115",
                     "country": "DE"}},
        {"vatNumber": "DE811569869", "name": "Kunde AG", "email": "eingangsrechnung@kunde.de",
         "address": {"street": "Marienplatz 1", "city": "München", "postalCode": "80331",
                     "country": "DE"}},
    ),
}  # fmt: skip
_RATES = {"RO": 21, "IT": 22, "BE": 21, "PL": 23, "FR": 20, "DE": 19}
_CURRENCY = {"RO": "RON", "PL": "PLN"}
_IBAN = {
    "RO": "RO49AAAA1B31007593840000",
    "IT": "IT60X0542811101000000123456",
    "BE": "BE68539007547034",
    "PL": "PL61109010140000071219812874",
    "FR": "FR1420041010050500013M02606",
    "DE": "DE89370400440532013000",
}


def clean_body(country: str) -> Body:
    supplier, customer = _PARTIES[country]
    body: Body = {
        "country": country,
        "invoiceNumber": "INV-2025-0001",
        "supplier": copy.deepcopy(supplier),
        "customer": copy.deepcopy(customer),
        "lines": [
            {
                "description": "Consulting",
                "quantity": 2,
                "unitPrice": 500,
                "vatRate": _RATES[country],
            },
            {"description": "Hosting", "quantity": 1, "unitPrice": 100, "vatRate": _RATES[country]},
        ],
        "currency": _CURRENCY.get(country, "EUR"),
        "issueDate": "2025-09-01",
        "dueDate": "2025-10-01",
        "paymentMeans": {"bankAccount": _IBAN[country], "paymentTerms": "Net 30"},
        "buyerReference": "REF-42",
    }
    return body


def report_of(body: Body, *, livemode: bool = True) -> ValidationReport:
    return validate_invoice(InvoiceRequest.model_validate(body), livemode=livemode)


def found(body: Body, *, livemode: bool = True) -> set[tuple[str, str]]:
    """(rule, pointer) of every finding."""
    return {(f.rule, f.pointer) for f in report_of(body, livemode=livemode).findings}


def only(body: Body, rule: str, *, livemode: bool = True) -> list[Finding]:
    return [f for f in report_of(body, livemode=livemode).findings if f.rule == rule]
