"""The intake process's settings, read once (the environment is read by clearway.config only)."""

from __future__ import annotations

import functools

from clearway.config import Settings


@functools.cache
def service_settings() -> Settings:
    return Settings.from_env()
