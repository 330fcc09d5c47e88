"""Government endpoints: every government has two sets, the sandbox set (what sk_test_ invoices
and connections use; the stack points it at the simulators) and the live set (sk_live_).

A government's settings group declares each endpoint field once per set: `url` for the sandbox,
`live_url` for live. The live set has no defaults but ANAF's public hosts: a government whose
live set is incomplete is not configured for live mode, and `GovernmentEndpoints.for_mode` says
so, naming the variables to set. It never answers with the sandbox for a live caller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from clearway.config.environment import SettingsGroup, variable

T = TypeVar("T")
S = TypeVar("S")

LIVE = "live_"  # a live field is its sandbox field's name after this


class LiveNotConfiguredError(Exception):
    """A live invoice or connection for a government with no live endpoint configured here.

    Names the variables only, never a value: it ends up in API answers and invoice errors."""

    def __init__(self, government: str, missing: tuple[str, ...]) -> None:
        self.government = government
        self.missing = missing
        super().__init__(
            f"Live filing with {government} is not configured on this Clearway deployment: "
            f"its operator must set {', '.join(missing)}."
        )


@dataclass(frozen=True)
class KeyedEndpoint:
    """A platform Clearway calls with its own API key (ZRE/OZG-RE, a French PA)."""

    url: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class GovernmentEndpoints(Generic[T]):
    """One government's sandbox and live endpoints: the one place a mode picks between them."""

    government: str
    sandbox: T
    live: T | None
    live_missing: tuple[str, ...] = ()  # the variables a live deployment has yet to set

    def for_mode(self, livemode: bool) -> T:  # noqa: FBT001 - the invoice's own flag
        """The endpoint for a sandbox (False) or live (True) invoice or connection; a live one
        that is not configured raises LiveNotConfiguredError, never the sandbox."""
        if not livemode:
            return self.sandbox
        if self.live is None:
            raise LiveNotConfiguredError(self.government, self.live_missing)
        return self.live


def live_or_error(
    endpoints: GovernmentEndpoints[T], make: Callable[[T], S]
) -> S | LiveNotConfiguredError:
    """What `make` builds once from the live endpoint (a client, a submitter), or why there is
    none: callers hold one per mode and answer a live caller with the error."""
    try:
        return make(endpoints.for_mode(True))  # noqa: FBT003 - live
    except LiveNotConfiguredError as exc:
        return exc


def government_endpoints(
    group: SettingsGroup, government: str, endpoint: type[T]
) -> GovernmentEndpoints[T]:
    """The sandbox and live `endpoint` (a dataclass) of `group`'s fields named as its fields
    (the live ones after `live_`). A sandbox field the group leaves out keeps the dataclass's
    default. Live is configured when every live field the dataclass requires is set (an empty
    value is unset); an optional one left empty is None."""
    sandbox: dict[str, Any] = {}
    live: dict[str, Any] = {}
    missing: list[str] = []
    for part in dataclasses.fields(cast("Any", endpoint)):
        if part.name in type(group).model_fields:
            sandbox[part.name] = getattr(group, part.name)
        live[part.name] = getattr(group, LIVE + part.name) or None
        required = part.default is dataclasses.MISSING
        if required and live[part.name] is None:
            missing.append(variable(type(group), LIVE + part.name))
    make = cast("Callable[..., T]", endpoint)
    return GovernmentEndpoints(
        government, make(**sandbox), None if missing else make(**live), tuple(missing)
    )
