from __future__ import annotations

import pytest
from clearway.governments.be.identifiers import (
    enterprise_number_check_digits,
    is_enterprise_number_format,
    is_valid_enterprise_number,
    peppol_id_for,
)

# Oracle's documented "good" BE VAT numbers, Proximus (0202.239.951), AB InBev (0417.497.106).
KNOWN = ["BE0440966354", "BE0831797467", "0403019261", "0202.239.951", "0417 497 106"]


@pytest.mark.parametrize("number", KNOWN)
def test_known_enterprise_numbers(number: str) -> None:
    assert is_valid_enterprise_number(number)


@pytest.mark.parametrize("number", ["BE0440966355", "BE0440966364", "1234567895", "0417497107"])
def test_a_changed_digit_invalidates(number: str) -> None:
    assert not is_valid_enterprise_number(number)


@pytest.mark.parametrize("number", ["2403170701", "040317070", "BE04031707011", "04031707O1"])
def test_format_is_ten_digits_starting_0_or_1(number: str) -> None:
    assert not is_enterprise_number_format(number)


def test_check_digits_and_peppol_id() -> None:
    assert enterprise_number_check_digits("04174971") == "06"
    assert peppol_id_for("BE 0417.497.106") == "0208:0417497106"
