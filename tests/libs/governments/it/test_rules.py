"""Italy (FatturaPA, SDI): the cases that break each rule (TRIGGERS) and
those that do not (VALID), run by test_rules_contract.py, and what else the rules do."""

from __future__ import annotations

from typing import Any

from clearway.validation import Severity

from tests.libs.validation.bodies import only
from tests.libs.validation.cases import DELETE, mutated

EXEMPT = {"description": "Medical service", "unitPrice": 100, "vatRate": 0, "vatCategory": "E",
          "vatExemptionReason": "Esente art. 10 DPR 633/72"}  # fmt: skip

TRIGGERS: list[tuple[dict[str, Any], tuple[str, str]]] = [
    ({"/supplier/fiscalCode": "RSSMRA85"}, ("CW-IT-03", "/supplier/fiscalCode")),
    ({"/customer/fiscalCode": "RSSMRA85T10A562T"}, ("CW-IT-04", "/customer/fiscalCode")),
    ({"/customer/fiscalCode": "00905811007"}, ("CW-IT-04", "/customer/fiscalCode")),
    ({"/customer/sdiCode": DELETE}, ("CW-IT-05", "/customer/sdiCode")),
    ({"/customer/sdiCode": "ABC"}, ("CW-IT-06", "/customer/sdiCode")),
    (
        {"/customer/sdiCode": "0000000", "/customer/pec": "not-an-address"},
        ("CW-IT-07", "/customer/pec"),
    ),
    ({"/lines/0": EXEMPT}, ("SDI-00400", "/lines/0/natura")),
    ({"/lines/1/natura": "N4"}, ("SDI-00401", "/lines/1/natura")),
    ({"/lines/0": EXEMPT | {"natura": "N2"}}, ("CW-IT-08", "/lines/0/natura")),
    ({"/lines/0": EXEMPT | {"natura": "N6"}}, ("CW-IT-08", "/lines/0/natura")),
]  # fmt: skip


VALID: list[dict[str, Any]] = [
    {"/customer/fiscalCode": "RSSMRA85T10A562S"},
    {"/customer/fiscalCode": "00905811006"},  # a company's codice fiscale
    {"/customer/sdiCode": "UFXXAB"},  # a public administration's office code (FPA12)
    {"/customer/sdiCode": "0000000", "/customer/pec": "fatture@pec.cliente.it"},
    {"/customer/sdiCode": DELETE, "/customer/pec": "fatture@pec.cliente.it"},
    {
        "/customer/sdiCode": DELETE,
        "/customer/vatNumber": "DE811569869",
        "/customer/address/country": "DE",
    },  # a foreign buyer: the converter writes XXXXXXX
    {"/lines/0": EXEMPT | {"natura": "N4"}},
    {
        "/lines/0": EXEMPT | {"natura": "N2.1", "vatCategory": "O"},
        "/lines/1": EXEMPT | {"natura": "N2.1", "vatCategory": "O"},
    },
]  # fmt: skip


def test_codice_fiscale_check_is_a_warning_in_the_sandbox() -> None:
    body = mutated("IT", {"/customer/fiscalCode": "RSSMRA85T10A562T"})
    assert [f.severity for f in only(body, "CW-IT-04", livemode=False)] == [Severity.WARNING]
