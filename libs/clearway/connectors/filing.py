"""What the network channels (the Peppol access point, the German B2G platform) share: what a
filing there comes to, and how their error bodies read. Their failures are the Government*
family of calls.py.

Both take a document with a reference Clearway chose (deterministic per invoice) and can list
what they received by that reference: a send whose answer was lost is looked for by it, never
sent blind a second time.
"""

from __future__ import annotations

import httpx
from pydantic import BaseModel, ConfigDict


def error_messages(response: httpx.Response) -> str:
    """`{"errors": [{"code"?, "message"}]}` (both simulated APIs' shape) as one line."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return str(body)[:500]
    return "; ".join(
        f"{e['code']}: {e.get('message', '')}" if e.get("code") else str(e.get("message", ""))
        for e in errors
        if isinstance(e, dict)
    )


class Filed(BaseModel):
    """A document the channel has: its id there, and the status it gave."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    status: str
