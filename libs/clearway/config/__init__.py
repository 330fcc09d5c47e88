"""Configuration: every setting of every Clearway process, read from the environment here only.

- `environment`: reading it (SettingsGroup, SettingsError, `variable()`);
- `endpoints`: a government's sandbox and live endpoints (GovernmentEndpoints, live_or_error);
- `settings`: the Settings composite of every group, and `variables()`, which lists them.

Each government declares its own group and endpoint in its folder (governments/ro/settings.py)
with the two modules above only. The composite imports every government's group, so it is
loaded on first use rather than here: a government's settings module imports this package
first, and must find it complete.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from clearway.config.endpoints import (
    GovernmentEndpoints,
    KeyedEndpoint,
    LiveNotConfiguredError,
    live_or_error,
)
from clearway.config.environment import SettingsError, SettingsGroup, Variable, variable

if TYPE_CHECKING:
    from clearway.config.settings import (
        ConformanceSettings,
        Governments,
        SecuritySettings,
        Settings,
        WebhookConfig,
        variables,
    )

_COMPOSITE = frozenset(
    {
        "ConformanceSettings",
        "Governments",
        "SecuritySettings",
        "Settings",
        "WebhookConfig",
        "variables",
    }
)

__all__ = [
    "ConformanceSettings",
    "GovernmentEndpoints",
    "Governments",
    "KeyedEndpoint",
    "LiveNotConfiguredError",
    "SecuritySettings",
    "Settings",
    "SettingsError",
    "SettingsGroup",
    "Variable",
    "WebhookConfig",
    "live_or_error",
    "variable",
    "variables",
]


def __getattr__(name: str) -> Any:
    if name in _COMPOSITE:
        return getattr(importlib.import_module("clearway.config.settings"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
