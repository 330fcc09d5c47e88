"""The submission states' table: the moves a filing makes are allowed, every other is refused,
and nothing reaches `uploaded` without having been marked in flight."""

from __future__ import annotations

import itertools

import pytest
from clearway.pipeline.filing.states import (
    TRANSITIONS,
    IllegalTransitionError,
    SubmissionState,
    check_transition,
)

S = SubmissionState
ALLOWED = {
    (S.PENDING, S.PENDING),  # held back, or not taken: due again later
    (S.PENDING, S.UPLOADING),  # marked in flight before the upload leaves
    (S.PENDING, S.FAILED),  # refused before anything left (no connection, no document)
    (S.UPLOADING, S.UPLOADING),  # held back while in flight
    (S.UPLOADING, S.UPLOADED),
    (S.UPLOADING, S.RECONCILING),  # the answer was lost
    (S.UPLOADING, S.PENDING),  # not taken: again after a backoff
    (S.UPLOADING, S.FAILED),
    (S.RECONCILING, S.RECONCILING),  # not known yet: looked for again
    (S.RECONCILING, S.UPLOADED),  # found
    (S.RECONCILING, S.PENDING),  # not there: sent again
    (S.RECONCILING, S.FAILED),  # cannot be looked for
}


def test_the_table_is_exactly_the_moves_a_filing_makes() -> None:
    assert {(a, b) for a, targets in TRANSITIONS.items() for b in targets} == ALLOWED
    assert set(TRANSITIONS) == set(S)


@pytest.mark.parametrize(("current", "wanted"), sorted(ALLOWED))
def test_an_allowed_move_gives_the_new_state(current: S, wanted: S) -> None:
    assert check_transition(current.value, wanted.value) is wanted


@pytest.mark.parametrize(("current", "wanted"), sorted(set(itertools.product(S, S)) - ALLOWED))
def test_any_other_move_is_refused(current: S, wanted: S) -> None:
    with pytest.raises(IllegalTransitionError) as refused:
        check_transition(current.value, wanted.value)
    assert (refused.value.current, refused.value.wanted) == (current, wanted)


def test_nothing_is_uploaded_that_was_not_in_flight_and_final_states_stay_final() -> None:
    assert S.UPLOADED not in TRANSITIONS[S.PENDING]
    assert S.RECONCILING not in TRANSITIONS[S.PENDING]  # nothing lost that never left
    assert TRANSITIONS[S.UPLOADED] == TRANSITIONS[S.FAILED] == frozenset()


def test_an_unknown_state_is_refused() -> None:
    with pytest.raises(ValueError, match="sent"):
        check_transition("pending", "sent")
