"""What a simulator received and the lazy end of its processing, and the base of the
simulators that receive items and decide each once its processing delay is over."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from services.govsim.clock import Clock
from services.govsim.faults import FaultQueue
from services.govsim.rate_limits import RateLimit, SlidingWindowLimiter

# --- what a simulator received, decided lazily ---------------------------------------------


class Processed(Protocol):
    ready_at: float  # when its processing is over


Key = TypeVar("Key", bound=Hashable)
Item = TypeVar("Item", bound=Processed)
Forced = TypeVar("Forced")


class Arrivals(Generic[Key, Item, Forced]):
    """What a simulator received, by id, and the lazy end of its processing: whoever looks
    (`get`, `all`, `settle`) first has every item whose processing is over decided, in arrival
    order, then `follow_up` run for what moves on after a decision (routing, timers). A test can
    queue outcomes that the next arrivals take (`force_next`, `next_forced`)."""

    def __init__(
        self,
        *,
        clock: Clock,
        decide: Callable[[Item], None],
        follow_up: Callable[[float], None] | None = None,
    ) -> None:
        self._clock = clock
        self._decide = decide
        self._follow_up = follow_up
        self._items: dict[Key, Item] = {}
        self._undecided: dict[Key, Item] = {}  # in arrival order
        self._forced: deque[Forced] = deque()

    def add(self, key: Key, item: Item, *, undecided: bool = True) -> Item:
        """Keep `item`; one that is not `undecided` was answered for good on arrival."""
        self._items[key] = item
        if undecided:
            self._undecided[key] = item
        return item

    def get(self, key: Key) -> Item | None:
        self.settle()
        return self._items.get(key)

    def all(self) -> list[Item]:
        """Everything received, oldest first."""
        self.settle()
        return list(self._items.values())

    def decide_now(self, key: Key) -> Item | None:
        """End one item's processing now (None when unknown)."""
        item = self._items.get(key)
        if item is not None:
            item.ready_at = min(item.ready_at, self._clock())
            self.settle()
        return item

    def force_next(self, forced: Forced, count: int) -> None:
        self._forced.extend([forced] * count)

    def next_forced(self) -> Forced | None:
        return self._forced.popleft() if self._forced else None

    def settle(self) -> None:
        now = self._clock()
        for key, item in list(self._undecided.items()):
            if item.ready_at <= now:
                del self._undecided[key]
                self._decide(item)
        if self._follow_up is not None:
            self._follow_up(now)

    def clear(self) -> None:
        self._items.clear()
        self._undecided.clear()
        self._forced.clear()


@dataclass
class ReceivingSimulator(Generic[Key, Item, Forced]):
    """A simulator that receives items and decides each once its processing delay is over:
    the items are `received`; subclasses decide one in `_decide`, move decided ones on in
    `_follow_up`, and clear the rest of their state in `_clear_state`. Reset restores the
    processing delay it was made with and lifts faults and the rate limit."""

    processing_delay: float
    clock: Clock = time.time
    faults: FaultQueue = field(default_factory=FaultQueue)
    rate_limit: RateLimit = field(default_factory=RateLimit)
    limiter: SlidingWindowLimiter = field(init=False)
    received: Arrivals[Key, Item, Forced] = field(init=False)
    _default_processing_delay: float = field(init=False)

    def __post_init__(self) -> None:
        self._default_processing_delay = self.processing_delay
        self.limiter = SlidingWindowLimiter(self.clock)
        self.received = Arrivals(clock=self.clock, decide=self._decide, follow_up=self._follow_up)

    def reset(self) -> None:
        self.processing_delay = self._default_processing_delay
        self.faults.clear()
        self.rate_limit = RateLimit()
        self.limiter.clear()
        self.received.clear()
        self._clear_state()

    def _clear_state(self) -> None:
        raise NotImplementedError

    def _decide(self, item: Item) -> None:
        raise NotImplementedError

    def _follow_up(self, now: float) -> None:
        """Nothing moves after the decision unless a subclass says so."""

    def settle(self) -> None:
        self.received.settle()
