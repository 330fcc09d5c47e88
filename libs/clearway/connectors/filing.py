"""What the network channels (the Peppol access point, the German B2G platform) share: their
client (ChannelClient), what a filing there comes to, and how their error bodies read. Their
failures are the Government* family of calls.py.

Both take a document with a reference Clearway chose (deterministic per invoice) and can list
what they received by that reference: a send whose answer was lost is looked for by it, never
sent blind a second time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict

from clearway.connectors import GovCall
from clearway.connectors.calls import Failures, GovernmentApi, refusal_reader


def _error_messages(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return str(body)[:500]
    return "; ".join(
        f"{e['code']}: {e.get('message', '')}" if e.get("code") else str(e.get("message", ""))
        for e in errors
        if isinstance(e, dict)
    )


# `{"errors": [{"code"?, "message"}]}` (both simulated APIs' shape) as one line.
error_messages = refusal_reader(_error_messages)


class Filed(BaseModel):
    """A document the channel has: its id there, and the status it gave."""

    model_config = ConfigDict(frozen=True)

    upload_id: str
    status: str


class ChannelClient(GovernmentApi):
    """A channel's API, called with Clearway's account key: documents under `collection`, each
    sent with a reference Clearway chose, listed by it (`reference_param`), and followed by
    the id the channel gave it (`id_field` of its answers)."""

    collection: ClassVar[str]  # "/invoices"
    reference_param: ClassVar[str]  # "clientReference"
    id_field: ClassVar[str]  # "id"

    def __init__(
        self, base_url: str, api_key: str, http: httpx.AsyncClient, failures: Failures
    ) -> None:
        super().__init__(base_url, http, failures, api_key=api_key)

    def _filed(self, body: Mapping[str, Any]) -> Filed:
        return Filed(upload_id=str(body[self.id_field]), status=str(body.get("status", "")))

    async def _send_document(
        self,
        document: bytes,
        *,
        endpoint: str,
        calls: list[GovCall] | None,
        headers: Mapping[str, str],
    ) -> Filed:
        response = await self._call(
            "POST",
            self.collection,
            endpoint=endpoint,
            calls=calls,
            content=document,
            headers={"Content-Type": "application/xml", **headers},
        )
        return self._filed(response.json())

    async def find(self, reference: str, calls: list[GovCall] | None = None) -> Filed | None:
        """The first document the channel has under this reference (the filing), if any."""
        response = await self._call(
            "GET",
            self.collection,
            endpoint=f"GET {self.collection}?{self.reference_param}",
            calls=calls,
            params={self.reference_param: reference},
        )
        found = response.json().get(self.collection.strip("/")) or ()
        return self._filed(found[0]) if found else None

    async def received(
        self, upload_id: str, calls: list[GovCall] | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """The document's status, parsed and as the channel gave it (the receipt)."""
        response = await self._call(
            "GET",
            f"{self.collection}/{quote(upload_id, safe='')}",
            endpoint=f"GET {self.collection}/{{id}}",
            calls=calls,
        )
        body: dict[str, Any] = response.json()
        return body, response.content
