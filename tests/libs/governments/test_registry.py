"""The registry of governments: every supported country has one, each complete and consistent,
and one contract suite runs for every government (its rules accept a valid invoice of its
country; its default format renders that invoice and passes its gates)."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from clearway.domain.connections import SetupMethod, TokenPolicy
from clearway.domain.invoice import SUPPORTED_COUNTRIES, InvoiceRequest
from clearway.formats import DEFAULT_FORMATS, FORMATS, Format, check, render
from clearway.governments import GOVERNMENTS, UnknownGovernmentError, government
from clearway.governments.base import Government
from clearway.translation import translate
from clearway.validation import RULES, validate_invoice
from clearway.validation.findings import RuleSpec, Severity
from hypothesis import HealthCheck, given, settings

from tests.strategies import valid_invoices

CODES = sorted(SUPPORTED_COUNTRIES)


def test_every_supported_country_has_a_government_and_no_other() -> None:
    assert sorted(GOVERNMENTS) == CODES
    assert list(GOVERNMENTS) == list(SUPPORTED_COUNTRIES)  # the order rules have always run in


def test_an_unknown_country_has_none() -> None:
    with pytest.raises(UnknownGovernmentError):
        government("XX")
    assert GOVERNMENTS.get("XX") is None


@pytest.mark.parametrize("code", CODES)
def test_each_government_implements_the_base_fully(code: str) -> None:
    found = government(code)
    assert isinstance(found, Government)
    assert not inspect.isabstract(type(found))
    assert found.code == code
    assert government(code.lower()) is found
    for text in (found.name, found.adjective, found.system, found.system_display):
        assert isinstance(text, str)
        assert text.strip()
    assert isinstance(found.setup_method, SetupMethod)
    assert found.token_policy is None or isinstance(found.token_policy, TokenPolicy)
    assert isinstance(found.en16931_syntax, bool)
    malformed, check_digit = found.vat_id_rules
    assert re.fullmatch(rf"CW-{code}-\d\d", malformed)
    assert re.fullmatch(rf"CW-{code}-\d\d", check_digit)
    assert malformed != check_digit


def test_the_names_tell_the_governments_apart() -> None:
    for attribute in ("name", "adjective"):
        values = [getattr(g, attribute) for g in GOVERNMENTS.values()]
        assert len(set(values)) == len(values), attribute
    rule_ids = [rule for g in GOVERNMENTS.values() for rule in g.vat_id_rules]
    assert len(set(rule_ids)) == len(rule_ids)


@pytest.mark.parametrize("code", CODES)
def test_the_setup_method_and_its_parts_agree(code: str) -> None:
    found = government(code)
    method = found.setup_method
    # A setup with an upload tells the user what to do first; the others have no steps.
    uploads = {SetupMethod.CERTIFICATE, SetupMethod.KSEF_TOKEN}
    assert bool(found.setup_steps) == (method in uploads)
    # Tokens to refresh exactly where the setup answers tokens, and a renewer for them.
    assert (found.token_policy is not None) == (
        method in {SetupMethod.OAUTH, SetupMethod.KSEF_TOKEN}
    )
    renews = type(found).token_renewer is not Government.token_renewer
    assert renews == (found.token_policy is not None)
    # A network identifier exactly for the network setups; Peppol is one of them.
    has_network = type(found).network_credentials is not Government.network_credentials
    assert has_network == (method is SetupMethod.NETWORK)
    assert not found.over_peppol or method is SetupMethod.NETWORK


@pytest.mark.parametrize("code", CODES)
def test_the_rules_are_the_governments_own_and_all_run(code: str) -> None:
    rules = government(code).rules()
    assert rules
    assert all(isinstance(rule, RuleSpec) for rule in rules)
    # A government's rule applies to its own country (or to every country).
    assert all(rule.countries is None or code in rule.countries for rule in rules)
    assert all(rule in RULES for rule in rules)


@pytest.mark.parametrize("code", CODES)
def test_the_formats_are_registered_with_the_first_as_default(code: str) -> None:
    formats = government(code).formats()
    assert formats
    assert all(isinstance(fmt, Format) for fmt in formats)
    assert all(fmt.gates for fmt in formats)  # no document leaves ungated
    assert DEFAULT_FORMATS[code] == formats[0].name
    assert sorted(name for cc, name in FORMATS if cc == code) == sorted(f.name for f in formats)


@pytest.mark.parametrize("code", CODES)
def test_every_catalogue_entry_translates_and_is_found(code: str) -> None:
    messages = government(code).messages()
    assert messages
    for message in messages:
        assert message.english.strip()
        assert message.fix.strip()
        re.compile(message.pattern)
    # The catalogue is the translator's: a message nobody knows is named by this government.
    unknown = translate(code, "zz-unheard-of-zz")
    assert not unknown.known
    assert unknown.english.startswith(government(code).system_display)


# --- the contract: one suite, run for every government -------------------------------------


@pytest.fixture(params=CODES)
def each_government(request: pytest.FixtureRequest) -> Government:
    return government(request.param)


def _passes_rules_and_gates(found: Government, body: dict[str, Any]) -> None:
    request = InvoiceRequest.model_validate(body)
    assert request.country == found.code
    report = validate_invoice(request, livemode=True)
    errors = [
        f"{f.rule} {f.pointer}: {f.message}"
        for f in report.findings
        if f.severity is Severity.ERROR
    ]
    assert errors == []
    number = request.invoice_number or request.external_id or "INV-1"
    document = render(request, invoice_number=number, country=found.code)
    assert document.format_name == found.formats()[0].name
    fatal = [
        f"{f.rule_id} at {f.location}: {f.text}"
        for f in check(found.code, document)
        if f.flag == "fatal"
    ]
    assert fatal == []


def test_contract_a_valid_invoice_passes_the_rules_and_the_default_formats_gates(
    each_government: Government,
) -> None:
    @settings(
        max_examples=3,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=valid_invoices(each_government.code))
    def passes(body: dict[str, Any]) -> None:
        _passes_rules_and_gates(each_government, body)

    passes()
