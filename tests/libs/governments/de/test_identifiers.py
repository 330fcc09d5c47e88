from __future__ import annotations

import pytest
from clearway.governments.de.identifiers import (
    is_leitweg_id_format,
    is_valid_leitweg_id,
    leitweg_id_check_digits,
    ust_idnr_check_digit,
)


def test_ust_idnr_check_digit() -> None:
    assert ust_idnr_check_digit("13669597") == "6"


# KoSIT's worked example, the e-rechnung test id, Deutsche Bahn, Flughafen Nürnberg, ZRE test.
LEITWEG_IDS = [
    "04011000-1234512345-06",
    "04011000-900X999-08",
    "992-90009-96",
    "09564000-NUE0001-49",
    "991-33333TEST-33",
]


@pytest.mark.parametrize("leitweg_id", LEITWEG_IDS)
def test_known_leitweg_ids(leitweg_id: str) -> None:
    assert is_valid_leitweg_id(leitweg_id)
    assert is_valid_leitweg_id(leitweg_id.lower())


@pytest.mark.parametrize("leitweg_id", LEITWEG_IDS)
def test_changed_check_digits_invalidate(leitweg_id: str) -> None:
    last = str((int(leitweg_id[-1]) + 1) % 10)
    assert is_leitweg_id_format(leitweg_id[:-1] + last)
    assert not is_valid_leitweg_id(leitweg_id[:-1] + last)


def test_leitweg_check_digits() -> None:
    assert leitweg_id_check_digits("992", "90009") == "96"
    assert leitweg_id_check_digits("04011000") == "45"
