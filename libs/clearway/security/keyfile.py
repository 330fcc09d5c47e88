"""The sandbox's master key file: made once in the state directory, readable by its owner only.

`make run` has no operator to configure CLEARWAY_MASTER_KEYS, so the stack generates a key the
first time and keeps it beside the database it protects. Deployments configure the variable.
"""

from __future__ import annotations

import os
from pathlib import Path

from clearway.security.envelope import Keyring, generate_master_key

SANDBOX_KEY_FILE = "master-keys"


def load_or_create_key_file(path: Path) -> str:
    """The file's `id=base64` lines; a new file with one fresh key when there is none."""
    if path.exists():
        text = path.read_text(encoding="utf-8")
        Keyring.parse(text)  # fail here, not in every service, when it was edited badly
        return text
    path.parent.mkdir(parents=True, exist_ok=True)
    text = generate_master_key().encoded() + "\n"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as key_file:
        key_file.write(text)
    return text
