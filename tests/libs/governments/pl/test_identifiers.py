from __future__ import annotations

import pytest
from clearway.governments.pl.identifiers import is_nip_format, is_valid_nip, nip_check_digit

# The published worked example (123-456-32-18), PKO BP, PZU and Orlen.
KNOWN = ["1234563218", "5260250995", "5260251049", "7740001454", "PL 774-000-14-54"]


@pytest.mark.parametrize("nip", KNOWN)
def test_known_nips(nip: str) -> None:
    assert is_valid_nip(nip)


@pytest.mark.parametrize("nip", ["1234563217", "5260250996", "7740001464"])
def test_a_changed_digit_invalidates(nip: str) -> None:
    assert not is_valid_nip(nip)


def test_a_body_whose_remainder_is_ten_has_no_nip() -> None:
    body = next(f"{n:09d}" for n in range(10**8, 10**9) if nip_check_digit(f"{n:09d}") is None)
    assert not any(is_valid_nip(body + str(d)) for d in range(10))


@pytest.mark.parametrize("nip", ["123456321", "12345632181", "12345632a8"])
def test_nip_is_ten_digits(nip: str) -> None:
    assert not is_nip_format(nip)
