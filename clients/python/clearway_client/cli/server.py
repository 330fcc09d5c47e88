"""The Clearway server package (`clearway`), when it is installed beside the client: its
operator's commands and its own rules, which a client-only install does without."""

from __future__ import annotations

import importlib.util


def server_has(module: str) -> bool:
    """Whether the server's `module` can be imported here (False when `clearway` is absent)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is not installed
        return False
