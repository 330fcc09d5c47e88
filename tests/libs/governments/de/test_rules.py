"""Germany (XRechnung, Leitweg-ID): the cases that break each rule (TRIGGERS) and
those that do not (VALID), run by test_rules_contract.py, and what else the rules do."""

from __future__ import annotations

from typing import Any

import pytest
from clearway.validation import Severity

from tests.libs.validation.bodies import found, only, report_of
from tests.libs.validation.cases import DELETE, mutated

ATTACHMENT = {"filename": "timesheet.pdf", "content": "JVBERi0=", "mimeType": "application/pdf"}
# An intra-community supply (K) to a French buyer: its address is the deliver-to address.
FRENCH_BUYER = {
    "vatNumber": "FR40303265045",
    "name": "Acheteur SARL",
    "email": "compta@acheteur.fr",
    "address": {"street": "5 quai du Port", "city": "Marseille", "postalCode": "13002",
                "country": "FR"},
}  # fmt: skip
K_LINES = [
    {"description": "Machine parts", "quantity": 3, "unitPrice": 100, "vatRate": 0,
     "vatCategory": "K", "vatExemptionReasonCode": "VATEX-EU-IC"},
]  # fmt: skip
INTRA_COMMUNITY = {"/customer": FRENCH_BUYER, "/lines": K_LINES}

TRIGGERS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"/paymentMeans": DELETE}, ("BR-DE-1", "/paymentMeans")),
    ({"/paymentMeans/bankAccount": DELETE}, ("BR-DE-1", "/paymentMeans/bankAccount")),
    ({"/supplier/address/city": DELETE}, ("BR-DE-3", "/supplier/address/city")),
    ({"/supplier/address/postalCode": DELETE}, ("BR-DE-4", "/supplier/address/postalCode")),
    ({"/supplier/phone": DELETE}, ("BR-DE-6", "/supplier/phone")),
    ({"/supplier/email": DELETE}, ("BR-DE-7", "/supplier/email")),
    ({"/customer/address/city": DELETE}, ("BR-DE-8", "/customer/address/city")),
    ({"/customer/address/postalCode": DELETE}, ("BR-DE-9", "/customer/address/postalCode")),
    ({"/buyerReference": DELETE}, ("BR-DE-15", "/buyerReference")),
    (
        {"/paymentMeans/paymentTerms": "#SKONTO#TAGE=14#PROZENT=2#"},
        ("BR-DE-18", "/paymentMeans/paymentTerms"),
    ),
    (
        {"/paymentMeans/paymentTerms": "#VERZUG#TAGE=14#PROZENT=5.00#"},  # not in XRechnung 3.0
        ("BR-DE-18", "/paymentMeans/paymentTerms"),
    ),
    ({"/attachments": [ATTACHMENT, ATTACHMENT]}, ("BR-DE-22", "/attachments/1/filename")),
    (
        INTRA_COMMUNITY | {"/customer/address/city": DELETE},
        ("BR-DE-10", "/customer/address/city"),
    ),
    (
        INTRA_COMMUNITY | {"/customer/address/postalCode": DELETE},
        ("BR-DE-11", "/customer/address/postalCode"),
    ),
    ({"/customer/email": DELETE}, ("PEPPOL-EN16931-R010", "/customer/email")),
    (
        {"/customer/email": DELETE, "/customer/peppolId": "9930"},  # no identifier after a scheme
        ("PEPPOL-EN16931-R010", "/customer/email"),
    ),
    (
        {"/buyerReference": DELETE, "/customer/leitwegId": "ABC-12"},
        ("CW-DE-03", "/customer/leitwegId"),
    ),
    (
        {"/buyerReference": DELETE, "/customer/leitwegId": "04011000-1234512345-07"},
        ("CW-DE-04", "/customer/leitwegId"),
    ),
    ({"/customer/leitwegId": "04011000-1234512345-06"}, ("CW-DE-05", "/buyerReference")),
]


VALID: list[dict[str, Any]] = [
    {"/buyerReference": DELETE, "/customer/leitwegId": "04011000-1234512345-06"},
    {"/buyerReference": "991-33333TEST-33", "/customer/leitwegId": "991-33333TEST-33"},
    {"/paymentMeans/paymentTerms": "#SKONTO#TAGE=14#PROZENT=2.00#\nZahlbar in 30 Tagen"},
    {"/paymentMeans/paymentTerms": "#SKONTO#TAGE=7#PROZENT=3.00#BASISBETRAG=100.00#"},
    {"/attachments": [ATTACHMENT, ATTACHMENT | {"filename": "order.pdf"}]},
    {"/paymentMeans/paymentTerms": "#SKONTO#TAGE=14#PROZENT=2.00#\n#SKONTO#TAGE=7#PROZENT=3.00#"},
    INTRA_COMMUNITY,
    # The buyer's electronic address: each kind on its own.
    {"/customer/email": DELETE, "/customer/peppolId": "9930:DE811569869"},
    {
        "/customer/email": DELETE,
        "/buyerReference": DELETE,
        "/customer/leitwegId": "04011000-1234512345-06",
    },
]


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"/supplier/phone": "12"}, "BR-DE-27"),
        ({"/supplier/email": "rechnung(at)lieferant.de"}, "BR-DE-28"),
        ({"/invoiceType": "debit_note"}, "BR-DE-17"),
    ],
)
def test_xrechnung_warnings_stay_warnings(changes: dict[str, Any], rule: str) -> None:
    report = report_of(mutated("DE", changes))
    assert [f.severity for f in report.findings if f.rule == rule] == [Severity.WARNING]
    assert report.errors == ()


def test_leitweg_check_digits_follow_the_key_mode() -> None:
    body = mutated("DE", {"/buyerReference": DELETE, "/customer/leitwegId": "992-90009-97"})
    assert [f.severity for f in only(body, "CW-DE-04", livemode=False)] == [Severity.WARNING]
    assert ("CW-DE-04", "/customer/leitwegId") in found(body)
