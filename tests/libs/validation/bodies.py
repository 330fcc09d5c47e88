"""A clean invoice body per country, with real, check-digit-valid public company identifiers, and
helpers to see which rules a variation of it breaks."""

from __future__ import annotations

import copy
from typing import Any

from clearway.domain.invoice import InvoiceRequest
from clearway.validation import Finding, ValidationReport, validate_invoice

Body = dict[str, Any]


def _party(vat_number: str, name: str, address: tuple[str, ...], **extra: str) -> Body:
    """A party of a clean body. `address`: street, city, postal code, country and maybe the
    state; `extra`: the party's other fields (sdiCode, peppolId, email, phone)."""
    fields = ("street", "city", "postalCode", "country", "stateOrProvince")
    return {
        "vatNumber": vat_number,
        "name": name,
        **extra,
        "address": dict(zip(fields, address, strict=False)),
    }


def _peppol_party(vat_number: str, name: str, address: tuple[str, ...]) -> Body:
    """A Belgian party on Peppol, under its enterprise number (scheme 0208)."""
    return _party(vat_number, name, address, peppolId=f"0208:{vat_number.removeprefix('BE')}")


# Per country: the supplier and the customer (VAT number, name, street, city, postal code,
# country, state; other fields), then the standard VAT rate, the currency and the supplier's IBAN.
_PARTIES: dict[str, tuple[Body, Body]] = {
    "RO": (
        _party(
            "RO18547290", "Furnizor SRL", ("Strada Exemplu 42", "Bucharest", "010101", "RO", "RO-B")
        ),
        _party(
            "RO14399840",
            "Client SRL",
            ("Bulevardul Unirii 10", "Cluj-Napoca", "400001", "RO", "RO-CJ"),
        ),
    ),
    "IT": (
        _party("IT00743110157", "Fornitore S.r.l.", ("Via Roma 10", "Milano", "20121", "IT")),
        _party(
            "IT00905811006",
            "Cliente S.p.A.",
            ("Piazzale Mattei 1", "Roma", "00144", "IT"),
            sdiCode="M5UXCR1",
        ),
    ),
    "BE": (
        _peppol_party("BE0417497106", "Leverancier BV", ("Grote Markt 1", "Leuven", "3000", "BE")),
        _peppol_party("BE0403170701", "Klant NV", ("Rue de la Loi 16", "Bruxelles", "1000", "BE")),
    ),
    "PL": (
        _party(
            "PL5260250995",
            "Dostawca sp. z o.o.",
            ("ul. Marszałkowska 5", "Warszawa", "00-001", "PL"),
        ),
        _party("PL7740001454", "Nabywca S.A.", ("ul. Chemików 7", "Płock", "09-411", "PL")),
    ),
    "FR": (
        _party("FR40303265045", "Fournisseur SAS", ("Rue de Rivoli 1", "Paris", "75001", "FR")),
        _party("FR83404833048", "Client SA", ("Cours Lafayette 10", "Lyon", "69003", "FR")),
    ),
    "DE": (
        _party(
            "DE136695976",
            "Lieferant GmbH",
            ("Hauptstraße 7", "Berlin", "10115", "DE"),
            email="rechnung@lieferant.de",
            phone="+49 30 1234567",
        ),
        _party(
            "DE811569869",
            "Kunde AG",
            ("Marienplatz 1", "München", "80331", "DE"),
            email="eingangsrechnung@kunde.de",
        ),
    ),
}
_TERMS: dict[str, tuple[int, str, str]] = {
    "RO": (21, "RON", "RO49AAAA1B31007593840000"),
    "IT": (22, "EUR", "IT60X0542811101000000123456"),
    "BE": (21, "EUR", "BE68539007547034"),
    "PL": (23, "PLN", "PL61109010140000071219812874"),
    "FR": (20, "EUR", "FR1420041010050500013M02606"),
    "DE": (19, "EUR", "DE89370400440532013000"),
}


def clean_body(country: str) -> Body:
    supplier, customer = _PARTIES[country]
    rate, currency, iban = _TERMS[country]
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
                "vatRate": rate,
            },
            {"description": "Hosting", "quantity": 1, "unitPrice": 100, "vatRate": rate},
        ],
        "currency": currency,
        "issueDate": "2025-09-01",
        "dueDate": "2025-10-01",
        "paymentMeans": {"bankAccount": iban, "paymentTerms": "Net 30"},
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
