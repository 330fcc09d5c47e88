"""The store's shared query parts (clearway.store.rows): conditions numbered in the order their
values are given, the account-owned row's conditions, and the SET assignments of changes."""

from __future__ import annotations

import pytest
from clearway.store.rows import Changes, Where, assignments, owned


class _Changes(Changes):
    url: str | None = None
    description: str | None = None


def test_each_question_mark_is_the_next_value() -> None:
    where = Where("account_id = ?", "acct_1").add("status <> 'deleted'")
    where.add("(created_at, id) < (?, ?)", "2026-01-01", "inv_1")
    assert where.sql == "account_id = $1 AND status <> 'deleted' AND (created_at, id) < ($2, $3)"
    assert where.args == ["acct_1", "2026-01-01", "inv_1"]
    copied = where.copy().add("livemode = ?", True)
    assert copied.args[-1] is True
    assert len(where.args) == 3  # a copy leaves the original as it was


def test_a_condition_takes_as_many_values_as_it_has_marks() -> None:
    with pytest.raises(ValueError, match="takes 1 values, not 2"):
        Where("id = ?", "a", "b")


def test_an_owned_row_is_the_accounts_and_of_its_mode_when_given() -> None:
    assert owned("inv_1", "acct_1").sql == "id = $1 AND account_id = $2"
    with_mode = owned("inv_1", "acct_1", livemode=False)
    assert with_mode.sql == "id = $1 AND account_id = $2 AND livemode = $3"
    assert with_mode.args == ["inv_1", "acct_1", False]


def test_only_the_changes_given_are_assigned_none_included() -> None:
    columns = _Changes(description=None).columns()
    assert columns == {"description": None}
    assert assignments(_Changes(url="u", description="d").columns(), 2) == (
        "description = $2, url = $3, "
    )
    assert assignments({}, 2) == ""


def test_a_filter_left_out_adds_no_condition_and_a_search_spans_its_columns() -> None:
    where = Where("account_id = ?", "acct_1").add_if("country = ?", None).add_if("x @> ?", {})
    where.add_if("status = ?", "accepted").containing(None, "a").containing("5%_", "a", "b")
    assert where.sql == "account_id = $1 AND status = $2 AND (a ILIKE $3 OR b ILIKE $4)"
    assert where.args == ["acct_1", "accepted", "%5\\%\\_%", "%5\\%\\_%"]
