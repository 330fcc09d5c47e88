"""The governments Clearway files for: one folder each (ro, it, pl, fr, be, de; peppol/ is the
network BE and DE share), and this registry of them.

A folder with a `government.py` defining `GOVERNMENT` (a clearway.governments.base.Government)
is a government: adding a country means adding its folder. The folders are found on first
lookup, not at import: their modules import the rule engine and the formats, which look
governments up here. They are listed in the order of SUPPORTED_COUNTRIES, the order rules and
findings have always had.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from clearway.domain.invoice import SUPPORTED_COUNTRIES

if TYPE_CHECKING:
    from clearway.governments.base import Government


class UnknownGovernmentError(KeyError):
    """No government folder for that country code."""


@functools.cache
def _discovered() -> dict[str, Government]:
    found: dict[str, Government] = {}
    for folder in pkgutil.iter_modules(__path__):
        module_name = f"{__name__}.{folder.name}.government"
        if not folder.ispkg or importlib.util.find_spec(module_name) is None:
            continue  # peppol/: a network, not a government of its own
        government: Government = importlib.import_module(module_name).GOVERNMENT
        found[government.code] = government
    order = {code: position for position, code in enumerate(SUPPORTED_COUNTRIES)}
    return dict(sorted(found.items(), key=lambda item: order.get(item[0], len(order))))


class _Registry(Mapping[str, "Government"]):
    def __getitem__(self, code: str) -> Government:
        try:
            return _discovered()[code.upper()]
        except KeyError:
            raise UnknownGovernmentError(code) from None

    def __iter__(self) -> Iterator[str]:
        return iter(_discovered())

    def __len__(self) -> int:
        return len(_discovered())


GOVERNMENTS: Mapping[str, Government] = _Registry()


def government(code: str) -> Government:
    """The government of that country code; UnknownGovernmentError when there is none."""
    return GOVERNMENTS[code]
