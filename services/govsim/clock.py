"""The time every simulator reads.

Every simulator keeps its state in memory and moves it lazily: a submission records when its
processing ends, and whichever request looks next after that moment sees the outcome. A fake
clock in the tests therefore replaces sleeping.
"""

from __future__ import annotations

from collections.abc import Callable

Clock = Callable[[], float]
