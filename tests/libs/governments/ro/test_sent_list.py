"""The poller's view of ANAF's message list (governments/ro/sent_list.py), pure: which window each
read asks for, what a row decides, and how long a row stays."""

from __future__ import annotations

import datetime as dt

from clearway.governments.ro.client import ListedMessage, MessageKind
from clearway.governments.ro.receiving import END_LAG
from clearway.governments.ro.sent_list import (
    KEEP,
    NEAR_OVERLAP,
    OVERLAP,
    SWEEP_EVERY,
    SentList,
)
from clearway.pipeline.decisions import Decided

from tests.libs.governments.ro.listed import listed_message

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
REACH = dt.timedelta(minutes=2)


def _row(upload_id: str, kind: str, created: dt.datetime) -> ListedMessage:
    return listed_message(created, upload_id=upload_id, kind=kind)


def test_the_first_read_reaches_back_its_reach_and_the_next_overlaps_the_last() -> None:
    view = SentList("1")
    first = view.window(NOW, REACH)
    assert first is not None
    assert (first.start, first.end, first.sweep) == (NOW - REACH, NOW - END_LAG, True)
    view.read(first, NOW)
    later = NOW + dt.timedelta(seconds=5)
    second = view.window(later, REACH)
    assert second is not None
    # Between sweeps, a read reaches back only a moment before the last one ended.
    assert (second.start, second.end) == (first.end - NEAR_OVERLAP, later - END_LAG)
    assert not second.sweep
    view.read(second, later)
    swept = NOW + SWEEP_EVERY
    third = view.window(swept, REACH)
    assert third is not None
    # Every SWEEP_EVERY one reaches back over the minute rows are stamped with.
    assert (third.start, third.sweep) == (second.end - OVERLAP, True)
    # Long unread: never further back than the reach.
    much_later = NOW + dt.timedelta(hours=1)
    fourth = view.window(much_later, REACH)
    assert fourth is not None
    assert fourth.start == much_later - REACH


def test_sent_is_ok_errors_is_nok_and_other_rows_decide_nothing() -> None:
    view = SentList("1")
    view.add(
        [
            _row("1", MessageKind.SENT, NOW),
            _row("2", MessageKind.ERRORS, NOW),
            _row("3", MessageKind.RECEIVED, NOW),
            _row("4", "MESAJ CUMPARATOR TRANSMIS", NOW),
        ]
    )
    assert view.decision("1") == Decided("ok", "D1")
    assert view.decision("2") == Decided("nok", "D2")
    assert view.decision("3") is None
    assert view.decision("4") is None


def test_a_row_leaves_the_view_after_keep_and_the_list_is_due_after_every() -> None:
    view = SentList("1")
    view.add([_row("old", MessageKind.SENT, NOW - KEEP - dt.timedelta(seconds=1))])
    view.add([_row("new", MessageKind.SENT, NOW)])
    window = view.window(NOW, REACH)
    assert window is not None
    view.read(window, NOW)
    assert (view.decision("old"), view.decision("new")) == (None, Decided("ok", "Dnew"))

    every = dt.timedelta(seconds=1)
    assert view.due(NOW, every)
    view.asked_at = NOW
    assert not view.due(NOW + dt.timedelta(milliseconds=500), every)
    assert view.due(NOW + every, every)
    view.closed_until = NOW + dt.timedelta(hours=1)
    assert not view.due(NOW + every, every)
    assert not view.open(NOW)
