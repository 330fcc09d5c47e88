"""The VAT-number schemes, and every check-digit function against python-stdnum as an
independent oracle (stdnum comes with factur-x; the test skips without it)."""

from __future__ import annotations

import importlib
from collections.abc import Callable

import pytest
from clearway.countries.checksums import is_valid_iban
from clearway.countries.vat_numbers import VAT_NUMBER_SCHEMES, vat_number_prefix
from clearway.governments.be import identifiers as be
from clearway.governments.de import identifiers as de
from clearway.governments.fr import identifiers as fr
from clearway.governments.it import identifiers as it
from clearway.governments.pl import identifiers as pl
from clearway.governments.ro import identifiers as ro
from hypothesis import given, settings
from hypothesis import strategies as st


@pytest.mark.parametrize("scheme", VAT_NUMBER_SCHEMES.values(), ids=lambda s: s.country)
def test_every_scheme_example_is_valid(scheme: object) -> None:
    assert hasattr(scheme, "example")
    assert scheme.is_well_formed(scheme.example)  # type: ignore[attr-defined]
    assert scheme.is_valid(scheme.example)  # type: ignore[attr-defined]
    assert scheme.example.startswith(scheme.country)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("number", "prefix"),
    [("RO18547290", "RO"), ("de 136 695 976", "DE"), ("EL094259216", "EL"), ("18547290", None)],
)
def test_prefix(number: str, prefix: str | None) -> None:
    assert vat_number_prefix(number) == prefix


def _numbers(digits: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10**digits - 1).map(lambda n: f"{n:0{digits}d}")


def _with_own_check(
    body: st.SearchStrategy[str], check: Callable[[str], str]
) -> st.SearchStrategy[str]:
    """Half of the numbers get their real check digits, so both answers are exercised."""
    return st.one_of(body, body.map(lambda b: b + check(b)))


ORACLES = [
    ("ro.cui", ro.is_valid_cui, "stdnum.ro.cui",
     _with_own_check(st.integers(10, 10**9 - 1).map(str), ro.cui_check_digit)),
    # Every office code (digits 8-10), so stdnum's office-code check is compared too.
    ("it.iva", it.is_valid_partita_iva, "stdnum.it.iva",
     _with_own_check(st.tuples(st.integers(0, 10**7 - 1), st.integers(0, 999)).map(
         lambda t: f"{t[0]:07d}{t[1]:03d}"), it.partita_iva_check_digit)),
    ("be.vat", be.is_valid_enterprise_number, "stdnum.be.vat",
     _with_own_check(st.sampled_from("01").flatmap(lambda f: _numbers(7).map(lambda r: f + r)),
                     be.enterprise_number_check_digits)),
    # python-stdnum does not check the tax-office prefix that the FA(3) schema requires.
    ("pl.nip", pl.is_valid_nip, "stdnum.pl.nip",
     st.integers(10**9, 10**10 - 1).map(str).filter(pl.is_nip_format)),
    ("fr.siren", fr.is_valid_siren, "stdnum.fr.siren", _numbers(9)),
    ("fr.tva", fr.is_valid_vat_number, "stdnum.fr.tva",
     _numbers(9).flatmap(lambda s: st.sampled_from([f"FR{fr.vat_key(s)}{s}", f"FR00{s}"]))),
    ("de.vat", de.is_valid_ust_idnr, "stdnum.de.vat",
     _with_own_check(st.integers(10**7, 10**8 - 1).map(str), de.ust_idnr_check_digit)),
    ("de.leitweg", de.is_valid_leitweg_id, "stdnum.de.leitweg",
     st.sampled_from(["04011000", "991", "05315000"]).flatmap(
         lambda c: st.sampled_from([f"{c}-{leitweg}" for leitweg in (
             de.leitweg_id_check_digits(c), "00", f"A1-{de.leitweg_id_check_digits(c, 'A1')}")]))),
    ("iban", is_valid_iban, "stdnum.iban",
     _numbers(18).flatmap(lambda b: st.sampled_from([f"DE{n:02d}{b}" for n in (2, 50, 97)]))),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mine", "module", "numbers"), ORACLES, ids=[o[0] for o in ORACLES]
)
def test_agrees_with_python_stdnum(
    name: str, mine: Callable[[str], bool], module: str, numbers: st.SearchStrategy[str]
) -> None:
    oracle = importlib.import_module(module)

    @settings(max_examples=300, deadline=None)
    @given(numbers)
    def agree(number: str) -> None:
        assert mine(number) == bool(oracle.is_valid(number)), (name, number)

    agree()
