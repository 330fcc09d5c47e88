"""Each government's own rules, checked one way for every country: a rule triggers at its
pointer when the country's clean body is changed to break it (the country's TRIGGERS), and the
valid counterparts (its VALID) have no findings. The cases stay beside the country's other rule
tests in <cc>/test_rules.py; EN 16931's and the general rules' are in tests/libs/validation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.libs.governments.be import test_rules as be
from tests.libs.governments.de import test_rules as de
from tests.libs.governments.fr import test_rules as fr
from tests.libs.governments.it import test_rules as it
from tests.libs.governments.ro import test_rules as ro
from tests.libs.validation.bodies import report_of
from tests.libs.validation.cases import assert_triggers_at_its_pointer, mutated

if TYPE_CHECKING:
    from types import ModuleType

    from tests.libs.validation.cases import Changes, Hit

CASES: dict[str, ModuleType] = {"RO": ro, "IT": it, "BE": be, "DE": de, "FR": fr}


@pytest.mark.parametrize(
    ("country", "changes", "expected"),
    [
        (country, changes, hit)
        for country, cases in CASES.items()
        for changes, hit in cases.TRIGGERS
    ],
)
def test_rule_triggers_at_its_pointer(country: str, changes: Changes, expected: Hit) -> None:
    assert_triggers_at_its_pointer(country, changes, expected)


@pytest.mark.parametrize(
    ("country", "changes"),
    [(country, changes) for country, cases in CASES.items() for changes in cases.VALID],
)
def test_valid_counterparts_have_no_findings(country: str, changes: Changes) -> None:
    assert report_of(mutated(country, changes)).findings == ()
