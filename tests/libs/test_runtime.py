"""A worker's loop of rounds: again at once while there is work, a pause otherwise, and a failed
round logged rather than ending the loop."""

from __future__ import annotations

import logging
from types import SimpleNamespace

import pytest
from clearway import runtime


class _Stop(BaseException):
    """Ends the endless loop from inside a round (an Exception would be caught and logged)."""


async def test_rounds_go_on_at_once_while_there_is_work_and_pause_otherwise(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[object] = [3, 1, 0, RuntimeError("database gone"), None, 2]
    happened: list[str] = []

    async def work_round() -> object:
        if not answers:
            raise _Stop
        answer = answers.pop(0)
        happened.append(f"round -> {answer!r}")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def sleep(seconds: float) -> None:
        happened.append(f"pause {seconds}")

    # Only the runtime module's asyncio is swapped: other tasks on the loop keep the real one.
    monkeypatch.setattr(runtime, "asyncio", SimpleNamespace(sleep=sleep))
    log = logging.getLogger("tests.runtime")
    with caplog.at_level(logging.ERROR, logger="tests.runtime"), pytest.raises(_Stop):
        await runtime.work_in_rounds(work_round, pause=7.5, log=log, failure="loop failed")

    assert happened == [
        "round -> 3",
        "round -> 1",
        "round -> 0",
        "pause 7.5",
        "round -> RuntimeError('database gone')",
        "pause 7.5",
        "round -> None",
        "pause 7.5",
        "round -> 2",
    ]
    assert [(r.name, r.getMessage()) for r in caplog.records] == [("tests.runtime", "loop failed")]
    assert caplog.records[0].exc_info is not None
