"""Property: what the validator calls valid, the converter's gate accepts. The two verdicts never
disagree, over the generated corpus of every country and over the mistakes clients make in it
(unknown codes, numbers SDI or KSeF refuses, missing addresses, dates, corrections, invoices
not subject to VAT).

The validator here is the business rules alone (clearway.validation.validate_invoice, the first
half of what POST /v1/invoices/validate runs); the gate is clearway.formats.convert_and_check,
exactly what the converter calls. validate_for_filing, which /validate runs, must then agree too.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from clearway.countries import code_lists
from clearway.domain.invoice import InvoiceRequest
from clearway.formats import convert_and_check
from clearway.formats.conformance import fatal
from clearway.validation import validate_invoice
from clearway.validation.verdict import INVOICE_ID_STAND_IN, validate_for_filing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.strategies import COUNTRIES, valid_invoices

_CODE_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
Mistake = Callable[[st.DrawFn, dict[str, Any]], None]
# Fixed, so that a run never depends on the day it runs on (SDI 00403 compares with today).
_NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)


def _unit(draw: st.DrawFn, body: dict[str, Any]) -> None:
    body["lines"][0]["unitCode"] = draw(st.text(_CODE_CHARS, min_size=1, max_size=3))


def _currency(draw: st.DrawFn, body: dict[str, Any]) -> None:
    # Any three letters, or a code one artefact's ISO 4217 edition has and another's lacks
    # (CEN's and Peppol's differ): where a random draw would hardly ever land.
    edges = sorted(code_lists.currencies() ^ code_lists.peppol_currencies())
    letters = st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)
    body["currency"] = draw(st.one_of(letters, st.sampled_from(edges)))


def _invoice_number(draw: st.DrawFn, body: dict[str, Any]) -> None:
    numbers = ("ABC", "FT-ABC", "INV-2026-" + "9" * 30, "FT/2026/№1", "A1")
    body["invoiceNumber"] = draw(st.sampled_from(numbers))
    body.pop("externalId", None)


def _no_invoice_number(_: st.DrawFn, body: dict[str, Any]) -> None:
    body.pop("invoiceNumber", None)
    body.pop("externalId", None)


def _no_electronic_address(_: st.DrawFn, body: dict[str, Any]) -> None:
    for field in ("email", "peppolId", "sdiCode", "pec", "leitwegId", "siret"):
        body["customer"].pop(field, None)


def _sdi_code(draw: st.DrawFn, body: dict[str, Any]) -> None:
    body["customer"]["sdiCode"] = draw(st.text(_CODE_CHARS, min_size=5, max_size=8))


def _no_payment_terms(_: st.DrawFn, body: dict[str, Any]) -> None:
    body.pop("dueDate", None)
    body.pop("paymentMeans", None)


def _correction(draw: st.DrawFn, body: dict[str, Any]) -> None:
    body["invoiceType"] = draw(st.sampled_from(("credit_note", "debit_note")))
    if draw(st.booleans()):
        body.pop("precedingInvoice", None)


def _bare_vat_number(_: st.DrawFn, body: dict[str, Any]) -> None:
    body["customer"]["vatNumber"] = body["customer"]["vatNumber"][2:]


def _address_country(draw: st.DrawFn, body: dict[str, Any]) -> None:
    body["customer"]["address"]["country"] = draw(st.sampled_from(("ZZ", "GB", "XI", "CH")))


def _not_subject_to_vat(draw: st.DrawFn, body: dict[str, Any]) -> None:
    # BR-O-02 drops the seller's VAT id: is the seller still identified (BR-CO-26)?
    line = {
        "description": "Damages",
        "unitPrice": 300,
        "vatRate": 0,
        "vatCategory": "O",
        "vatExemptionReason": "Not subject to VAT",
    }
    if body["country"] == "IT":
        line["natura"] = "N2.2"
    body["lines"] = [line]
    if draw(st.booleans()):
        body["supplier"].pop("tradeRegister", None)
        body["supplier"].pop("siret", None)


_MISTAKES = (
    _unit,
    _currency,
    _invoice_number,
    _no_invoice_number,
    _no_electronic_address,
    _sdi_code,
    _no_payment_terms,
    _correction,
    _bare_vat_number,
    _address_country,
    _not_subject_to_vat,
)


def _with(mistake: Mistake | None) -> Callable[[dict[str, Any]], st.SearchStrategy[dict[str, Any]]]:
    """The body as generated, or with the one thing a client gets wrong."""

    @st.composite
    def changed(draw: st.DrawFn, body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        if mistake is not None:
            mistake(draw, body)
        return body

    return changed


# Every mistake in every country, a few examples each: sampling one mistake per example would
# leave the later ones nearly untried (hypothesis favours the first elements of a list).
@pytest.mark.parametrize("mistake", [None, *_MISTAKES], ids=lambda m: m.__name__ if m else "none")
@pytest.mark.parametrize("country", COUNTRIES)
def test_what_the_validator_passes_the_gate_passes(country: str, mistake: Mistake | None) -> None:
    @settings(
        max_examples=4 if mistake is None else 3,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=valid_invoices(country).flatmap(_with(mistake)))
    def agree(body: dict[str, Any]) -> None:
        try:
            request = InvoiceRequest.model_validate(body)
        except ValidationError:
            return  # refused by the schema (400) before either verdict
        rules = validate_invoice(request, livemode=True, now=_NOW)
        if rules.errors:
            return  # the pipeline stops at the validator; the gate never sees it
        number = request.invoice_number or request.external_id or INVOICE_ID_STAND_IN
        _, findings = convert_and_check(request, invoice_number=number)
        failures = [f"{f.rule_id} at {f.location}: {f.text}" for f in fatal(findings)]
        assert failures == [], body
        filing = validate_for_filing(request, livemode=True, now=_NOW)
        assert filing.errors == ()

    agree()
