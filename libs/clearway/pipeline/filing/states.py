"""The states of a `submissions` row and the only moves between them.

    pending      nothing in flight: the upload goes out when the row is due
    uploading    an upload may be in flight (committed before it leaves: a crash leaves this)
    reconciling  an upload's answer was lost: look for it at the government before sending again
    uploaded     the government took it; final
    failed       the invoice went to `error` or `rejected`; final

Only `uploading` and `reconciling` lead to `uploaded`: nothing is filed that was not first
marked in flight, so a lost answer is always looked for, never sent blind a second time.
"""

from __future__ import annotations

from enum import StrEnum


class SubmissionState(StrEnum):
    PENDING = "pending"
    UPLOADING = "uploading"
    RECONCILING = "reconciling"
    UPLOADED = "uploaded"
    FAILED = "failed"


PENDING, UPLOADING, RECONCILING, UPLOADED, FAILED = SubmissionState
TRANSITIONS: dict[SubmissionState, frozenset[SubmissionState]] = {
    # Held back or not taken: due again later; refused before anything left: failed.
    PENDING: frozenset({PENDING, UPLOADING, FAILED}),
    UPLOADING: frozenset({UPLOADING, RECONCILING, PENDING, UPLOADED, FAILED}),
    # Found: uploaded; not there: pending (sent again); still unknown: looked for again.
    RECONCILING: frozenset({RECONCILING, PENDING, UPLOADED, FAILED}),
    UPLOADED: frozenset(),
    FAILED: frozenset(),
}


class IllegalTransitionError(Exception):
    """A move the table does not allow: a bug in whoever asked for it, never applied."""

    def __init__(self, current: SubmissionState, wanted: SubmissionState) -> None:
        super().__init__(f"a submission cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def check_transition(current: str, wanted: str) -> SubmissionState:
    """`wanted` as a state, if a row in `current` may move to it; else IllegalTransitionError."""
    source, target = SubmissionState(current), SubmissionState(wanted)
    if target not in TRANSITIONS[source]:
        raise IllegalTransitionError(source, target)
    return target
