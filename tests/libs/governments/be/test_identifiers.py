from __future__ import annotations

from clearway.governments.be.identifiers import (
    enterprise_number_check_digits,
    peppol_id_for,
)


def test_check_digits_and_peppol_id() -> None:
    assert enterprise_number_check_digits("04174971") == "06"
    assert peppol_id_for("BE 0417.497.106") == "0208:0417497106"
