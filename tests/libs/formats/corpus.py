"""Hand-written valid invoices for BE, DE, FR and RO: every VAT category the formats render, credit
notes, several rates, discounts, attachments. Each must pass every gate of every format of its
country (test_formats.py), and the negative corpus breaks them one way at a time.
"""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

from clearway.domain.invoice import InvoiceRequest

from services.intake.examples import SEED_INVOICE_REQUEST

ISSUE_DATE = "2026-03-02"
# A tiny PDF, base64: what a client attaches (a timesheet, a delivery note).
ATTACHMENT = {
    "filename": "timesheet.pdf",
    "mimeType": "application/pdf",
    "content": base64.b64encode(
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"
    ).decode(),
}

_SUPPLIERS: dict[str, dict[str, Any]] = {
    "RO": {
        "vatNumber": "RO12345678",
        "name": "TechVision SRL",
        "tradeRegister": "J40/1234/2020",
        "email": "billing@techvision.ro",
        "phone": "+40 21 123 4567",
        "address": {
            "street": "Strada Exemplu 42",
            "city": "Bucharest",
            "postalCode": "010101",
            "country": "RO",
        },
    },
    "BE": {
        "vatNumber": "BE0123456749",
        "name": "Acme Solutions BV",
        "peppolId": "0208:0123456749",
        "email": "invoices@acme.be",
        "phone": "+32 2 123 45 67",
        "address": {
            "street": "Rue de la Loi 16",
            "city": "Brussels",
            "postalCode": "1000",
            "country": "BE",
        },
    },
    "DE": {
        "vatNumber": "DE123456789",
        "name": "Muster Software GmbH",
        "tradeRegister": "HRB 123456",
        "email": "rechnung@muster.de",
        "phone": "+49 30 1234567",
        "address": {
            "street": "Hauptstraße 1",
            "city": "Berlin",
            "postalCode": "10115",
            "country": "DE",
        },
    },
    "FR": {
        "vatNumber": "FR44732829320",
        "name": "Exemple Conseil SAS",
        "siret": "73282932000074",
        "email": "factures@exemple.fr",
        "phone": "+33 1 23 45 67 89",
        "address": {
            "street": "12 rue de la Paix",
            "city": "Paris",
            "postalCode": "75002",
            "country": "FR",
        },
    },
}

_CUSTOMERS: dict[str, dict[str, Any]] = {
    "RO": SEED_INVOICE_REQUEST["customer"],  # the seed's customer
    "BE": {
        "vatNumber": "BE0876543270",
        "name": "Klant NV",
        "email": "ap@klant.be",
        "address": {
            "street": "Meir 1",
            "city": "Antwerpen",
            "postalCode": "2000",
            "country": "BE",
        },
    },
    "DE": {
        "vatNumber": "DE987654321",
        "name": "Stadtwerke Beispiel",
        "leitwegId": "04011000-1234512345-06",
        "email": "eingangsrechnung@stadtwerke.example",
        "address": {
            "street": "Marienplatz 8",
            "city": "München",
            "postalCode": "80331",
            "country": "DE",
        },
    },
    "FR": {
        "vatNumber": "FR61542065479",
        "name": "Client Industrie SA",
        "siret": "54206547900016",
        "address": {
            "street": "3 place Bellecour",
            "city": "Lyon",
            "postalCode": "69002",
            "country": "FR",
        },
    },
}

# An EU buyer in another member state, for intra-community supplies (K).
_EU_CUSTOMERS: dict[str, dict[str, Any]] = {
    "RO": {
        "vatNumber": "DE811569869",
        "name": "Kunde GmbH",
        "address": {"street": "Ring 2", "city": "Köln", "postalCode": "50667", "country": "DE"},
    },
    "BE": {
        "vatNumber": "NL123456789B01",
        "name": "Afnemer BV",
        "peppolId": "9944:NL123456789B01",
        "address": {
            "street": "Damrak 1",
            "city": "Amsterdam",
            "postalCode": "1012 LG",
            "country": "NL",
        },
    },
    "DE": {
        "vatNumber": "FR40303265045",
        "name": "Acheteur SARL",
        "email": "compta@acheteur.fr",
        "address": {
            "street": "5 quai du Port",
            "city": "Marseille",
            "postalCode": "13002",
            "country": "FR",
        },
    },
    "FR": {
        "vatNumber": "DE811569869",
        "name": "Käufer GmbH",
        "email": "einkauf@kaeufer.de",
        "address": {
            "street": "Königsallee 10",
            "city": "Düsseldorf",
            "postalCode": "40212",
            "country": "DE",
        },
    },
}

# A buyer outside the EU, for exports (G).
_EXPORT_CUSTOMER: dict[str, Any] = {
    "vatNumber": "CHE123456789",
    "name": "Kunde Schweiz AG",
    "email": "ap@kunde.ch",
    "peppolId": "0088:7640000000001",
    "address": {
        "street": "Bahnhofstrasse 1",
        "city": "Zürich",
        "postalCode": "8001",
        "country": "CH",
    },
}

_CURRENCY = {"RO": "RON", "BE": "EUR", "DE": "EUR", "FR": "EUR"}
# Rates in force on the issue date: (standard, reduced).
RATES: dict[str, tuple[Decimal, Decimal]] = {
    "RO": (Decimal(21), Decimal(11)),
    "BE": (Decimal(21), Decimal(6)),
    "DE": (Decimal(19), Decimal(7)),
    "FR": (Decimal(20), Decimal("5.5")),
}
_IBAN = {
    "RO": "RO49AAAA1B31007593840000",
    "BE": "BE68539007547034",
    "DE": "DE89370400440532013000",
    "FR": "FR1420041010050500013M02606",
}


def base_request(country: str) -> dict[str, Any]:
    standard, reduced = RATES[country]
    return {
        "country": country,
        "supplier": _SUPPLIERS[country],
        "customer": _CUSTOMERS[country],
        "lines": [
            {"description": "Consulting", "quantity": 10, "unitPrice": 100, "vatRate": standard},
            {
                "description": "Books",
                "quantity": Decimal("2.5"),
                "unitPrice": Decimal("12.40"),
                "vatRate": reduced,
                "unitCode": "H87",
                "itemCode": "BK-1",
            },
        ],
        "currency": _CURRENCY[country],
        "issueDate": ISSUE_DATE,
        "dueDate": "2026-04-01",
        "buyerReference": "BUYER-REF-7",
        "purchaseOrderReference": "PO-4711",
        "note": "Thank you for your business.",
        "paymentMeans": {
            "bankAccount": _IBAN[country],
            "bic": "AAAABBCC",
            "paymentTerms": "Net 30",
        },
    }


def _exempt_line(country: str) -> dict[str, Any]:
    reason = {
        "RO": "Scutit conform art. 292 Cod fiscal",
        "BE": "Vrijgesteld - artikel 44 WBTW",
        "DE": "Steuerfrei nach § 4 Nr. 21 UStG",
        "FR": "Exonération de TVA, article 261-4-4° du CGI",
    }[country]
    return {
        "description": "Training course",
        "quantity": 1,
        "unitPrice": 800,
        "vatRate": 0,
        "vatCategory": "E",
        "vatExemptionReason": reason,
        "vatExemptionReasonCode": "VATEX-EU-132-1I",
    }


def cases(country: str) -> dict[str, dict[str, Any]]:
    """Changes to base_request(country), by case name."""
    standard, _ = RATES[country]
    base = base_request(country)
    consulting = base["lines"][0]
    supplier_without_vat_role = _SUPPLIERS[country]
    found: dict[str, dict[str, Any]] = {
        "multiple_rates_discount_attachment": {
            "lines": [
                *base["lines"],
                {
                    "description": "Licence (volume discount)",
                    "quantity": 3,
                    "unitPrice": Decimal("99.99"),
                    "discount": Decimal("10.005"),
                    "vatRate": standard,
                    "itemCode": "LIC-01",
                },
            ],
            "attachments": [ATTACHMENT],
        },
        "credit_note": {
            "invoiceType": "credit_note",
            "precedingInvoice": {"number": "INV-2026-0042", "issueDate": "2026-02-15"},
        },
        "exempt": {"lines": [consulting, _exempt_line(country)]},
        "zero_rated": {
            "lines": [
                consulting,
                {
                    "description": "Printed newspaper",
                    "quantity": 4,
                    "unitPrice": Decimal("2.25"),
                    "vatRate": 0,
                    "vatCategory": "Z",
                },
            ]
        },
        "reverse_charge": {
            "lines": [
                consulting,
                {
                    "description": "Construction work (reverse charge)",
                    "quantity": 8,
                    "unitPrice": 55,
                    "vatRate": 0,
                    "vatCategory": "AE",
                },
            ]
        },
        "intra_community": {
            "customer": _EU_CUSTOMERS[country],
            "lines": [
                {
                    "description": "Machine parts",
                    "quantity": 12,
                    "unitPrice": Decimal("41.50"),
                    "vatRate": 0,
                    "vatCategory": "K",
                    "unitCode": "H87",
                },
                {
                    "description": "Spare parts",
                    "quantity": 1,
                    "unitPrice": 90,
                    "discount": 9,
                    "vatRate": 0,
                    "vatCategory": "K",
                    "vatExemptionReason": "Intra-community supply - Article 138 Directive 2006/112",
                    "vatExemptionReasonCode": "VATEX-EU-IC",
                },
            ],
        },
        "export": {
            "customer": _EXPORT_CUSTOMER,
            "lines": [
                {
                    "description": "Export machine",
                    "quantity": 1,
                    "unitPrice": 2500,
                    "vatRate": 0,
                    "vatCategory": "G",
                }
            ],
        },
        "not_subject_to_vat": {
            "supplier": supplier_without_vat_role,
            "lines": [
                {
                    "description": "Damages (outside the scope of VAT)",
                    "quantity": 1,
                    "unitPrice": 300,
                    "vatRate": 0,
                    "vatCategory": "O",
                }
            ],
        },
    }
    if country == "BE":  # 383 is EN 16931's debit note; only Peppol of these four accepts it
        found["debit_note"] = {"invoiceType": "debit_note"}
    if country == "DE":
        found |= german_cases()
    return found


def german_cases() -> dict[str, dict[str, Any]]:
    """XRechnung specifics: Skonto terms (BR-DE-18) and each kind of buyer electronic address."""
    customer = {k: v for k, v in _CUSTOMERS["DE"].items() if k not in ("leitwegId", "email")}
    payment = base_request("DE")["paymentMeans"]
    return {
        "skonto_terms": {
            "paymentMeans": payment
            | {"paymentTerms": "#SKONTO#TAGE=14#PROZENT=2.00#\n#SKONTO#TAGE=7#PROZENT=3.00#"}
        },
        "skonto_terms_then_text": {
            "paymentMeans": payment
            | {
                "paymentTerms": "#SKONTO#TAGE=10#PROZENT=1.50#BASISBETRAG=1000.00#\n"
                "Zahlbar ohne Abzug bis zum Fälligkeitsdatum."
            }
        },
        "buyer_with_peppol_id": {"customer": customer | {"peppolId": "9930:DE987654321"}},
        "buyer_with_email": {"customer": customer | {"email": "ap@kunde.example"}},
        "buyer_with_leitweg_id": {
            "customer": customer | {"leitwegId": "991-33333TEST-33"},
            "buyerReference": None,
        },
    }


def invoice(country: str, case: str | None = None, **changes: Any) -> InvoiceRequest:
    request = base_request(country)
    if case is not None:
        request |= cases(country)[case]
    return InvoiceRequest.model_validate(request | changes)


def all_cases(country: str) -> list[tuple[str, InvoiceRequest]]:
    return [("base", invoice(country))] + [
        (name, invoice(country, name)) for name in cases(country)
    ]
