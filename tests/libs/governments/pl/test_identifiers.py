from __future__ import annotations

from clearway.governments.pl.identifiers import is_valid_nip, nip_check_digit


def test_a_body_whose_remainder_is_ten_has_no_nip() -> None:
    body = next(f"{n:09d}" for n in range(10**8, 10**9) if nip_check_digit(f"{n:09d}") is None)
    assert not any(is_valid_nip(body + str(d)) for d in range(10))
