"""France (CTC, BR-FR-*): the cases that break each rule (TRIGGERS) and
those that do not (VALID), run by test_rules_contract.py, and what else the rules do."""

from __future__ import annotations

from typing import Any

from clearway.countries.checksums import luhn_check_digit

from tests.libs.validation.cases import DELETE

SUPPLIER_SIRET = "303265045" + "0001" + luhn_check_digit("3032650450001")

TRIGGERS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"/invoiceNumber": "F" * 36}, ("BR-FR-01", "/invoiceNumber")),
    ({"/invoiceNumber": "INV 2025 1"}, ("BR-FR-02", "/invoiceNumber")),
    ({"/invoiceNumber": DELETE, "/externalId": "order#12"}, ("BR-FR-02", "/externalId")),
    ({"/dueDate": "2100-01-01"}, ("BR-FR-03", "/dueDate")),
    ({"/supplier/siret": "123"}, ("CW-FR-03", "/supplier/siret")),
    ({"/supplier/siret": SUPPLIER_SIRET[:-1] + "0"}, ("CW-FR-04", "/supplier/siret")),
    ({"/supplier/siret": "73282932000074"}, ("BR-FR-09", "/supplier/siret")),
    ({"/customer/siret": "73282932000074"}, ("CW-FR-05", "/customer/siret")),
    ({"/supplier/vatNumber": "DE136695976"}, ("BR-FR-10", "/supplier/siret")),
    ({"/customer/vatNumber": "DE811569869"}, ("BR-FR-11", "/customer/siret")),
    ({"/invoiceType": "credit_note"}, ("BR-FR-CO-05", "/precedingInvoice")),
    (
        {"/invoiceType": "credit_note", "/precedingInvoice": {"number": "INV-2025-0000"}},
        ("BR-FR-CO-05", "/precedingInvoice/issueDate"),
    ),
    ({"/currency": "USD"}, ("BR-FR-CO-12", "/currency")),
    ({"/lines/0/quantity": "1.23456"}, ("BR-FR-DEC-02", "/lines/0/quantity")),
    ({"/lines/0/unitPrice": "10.1234567"}, ("BR-FR-DEC-03", "/lines/0/unitPrice")),
]


VALID: list[dict[str, Any]] = [
    {"/supplier/siret": SUPPLIER_SIRET},
    {"/supplier/vatNumber": "DE136695976", "/supplier/siret": SUPPLIER_SIRET},
    {"/invoiceNumber": "F" * 35},
    {"/invoiceNumber": "FA-2025/001_a+b"},
    {
        "/invoiceType": "credit_note",
        "/precedingInvoice": {"number": "INV-2025-0000", "issueDate": "2025-08-01"},
    },
    {"/lines/0/quantity": "1.2345", "/lines/0/unitPrice": "10.123456"},
    {
        "/customer/vatNumber": "DE811569869",
        "/customer/address/country": "DE",
        # ... but an electronic address (BR-FR-12): with no SIREN, none can be derived.
        "/customer/email": "ap@kunde.example",
    },  # a foreign buyer needs no SIREN
]
