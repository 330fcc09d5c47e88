"""A metadata patch merged into what a received invoice holds: set, removed, kept; never more
pairs than an invoice's metadata may hold, and the patch's own limits are the invoice's."""

from __future__ import annotations

import pytest
from clearway.domain.invoice import MAX_METADATA_PAIRS
from clearway.domain.metadata import MetadataPatch, TooManyPairsError, patched
from pydantic import TypeAdapter, ValidationError

PATCH = TypeAdapter(MetadataPatch)


def test_a_string_sets_null_removes_and_a_key_left_out_is_kept() -> None:
    current = {"bookingId": "B-1", "ledger": "north", "old": "x"}
    result = patched(current, {"bookingId": "B-2", "old": None, "new": ""})
    assert result == {"bookingId": "B-2", "ledger": "north", "new": ""}
    assert current == {"bookingId": "B-1", "ledger": "north", "old": "x"}  # not changed


def test_an_empty_patch_or_removing_a_missing_key_changes_nothing() -> None:
    assert patched({"a": "1"}, {}) == {"a": "1"}
    assert patched({"a": "1"}, {"missing": None}) == {"a": "1"}


def test_the_result_may_hold_at_most_the_invoices_limit() -> None:
    full = {f"k{i}": "v" for i in range(MAX_METADATA_PAIRS)}
    assert patched(full, {"k0": "changed"})["k0"] == "changed"
    assert len(patched(full, {"k0": None, "other": "v"})) == MAX_METADATA_PAIRS
    with pytest.raises(TooManyPairsError, match="51 pairs; at most 50"):
        patched(full, {"one more": "v"})


@pytest.mark.parametrize(
    "patch",
    [
        {"": "empty key"},
        {"k" * 41: "key too long"},
        {"k": "v" * 501},
        {"k": "nul \x00"},
        {"k": 5},
        {f"k{i}": "v" for i in range(MAX_METADATA_PAIRS + 1)},
    ],
    ids=["empty-key", "long-key", "long-value", "nul", "not-a-string", "too-many"],
)
def test_the_patch_has_the_invoice_metadatas_limits(patch: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PATCH.validate_python(patch)


def test_the_limits_themselves_are_accepted() -> None:
    patch = {"k" * 40: "v" * 500, "gone": None}
    assert PATCH.validate_python(patch) == patch
