"""The receiver's network endpoint: where a network that pushes (SDI to the recipient's channel,
a Peppol access point) delivers purchase invoices, one request a delivery.

    POST /networks/<cc>/deliveries      Authorization: Bearer <the mode's network key>

The key says the mode (CLEARWAY_NETWORK_KEY_SANDBOX for the simulators, _LIVE for the real
networks, added by the TLS terminator that checked the network's client certificate); the
government's PushChannel reads the body and words the answer (clearway.pipeline.pushed). A
request without a valid key, of another method, or too large is answered here, plainly, and
records nothing.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable
from http import HTTPStatus

from clearway.config import Settings
from clearway.governments import GOVERNMENTS
from clearway.governments.pushed import NetworkAnswer, PushChannel
from clearway.observability.health import AsgiApp, Receive, Scope, Send
from clearway.pipeline.pushed import PushedReceiving
from clearway.pipeline.reading import read_received
from clearway.runtime import ServiceContext

log = logging.getLogger(__name__)

# SDI's files are at most 5 MB, Peppol's documents with attachments rarely over 10 MB.
MAX_DELIVERY_BYTES = 25 * 1024 * 1024


def network_routes(
    settings: Settings, context_of: Callable[[], ServiceContext]
) -> list[tuple[str, AsgiApp]]:
    """A route for every government whose network pushes its deliveries."""
    channels = {code: government.push_channel(settings) for code, government in GOVERNMENTS.items()}
    return [
        (f"/networks/{code.lower()}/deliveries", _deliveries(code, channel, context_of))
        for code, channel in sorted(channels.items())
        if channel is not None
    ]


def mode_of(authorization: str, *, sandbox_key: str, live_key: str) -> bool | None:
    """The mode (livemode) a request's `Authorization` header is for; None: no valid key."""
    scheme, _, key = authorization.partition(" ")
    if scheme.lower() != "bearer" or not key:
        return None
    for livemode, expected in ((False, sandbox_key), (True, live_key)):
        if expected and hmac.compare_digest(key.encode(), expected.encode()):
            return livemode
    return None


def _deliveries(
    country: str, channel: PushChannel, context_of: Callable[[], ServiceContext]
) -> AsgiApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await _send(send, _plain(HTTPStatus.METHOD_NOT_ALLOWED, "POST a delivery here"))
            return
        context = context_of()
        headers = {key.decode().lower(): value.decode("latin-1") for key, value in scope["headers"]}
        security = context.settings.security
        livemode = mode_of(
            headers.get("authorization", ""),
            sandbox_key=security.network_key_sandbox,
            live_key=security.network_key_live,
        )
        if livemode is None:
            await _send(send, _plain(HTTPStatus.UNAUTHORIZED, "no valid network key"))
            return
        body = await _body(receive)
        if body is None:
            too_large = f"a delivery is at most {MAX_DELIVERY_BYTES} bytes"
            await _send(send, _plain(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, too_large))
            return
        receiving = PushedReceiving(context.pool, read=read_received, recorded=context.relay.wake)
        media_type = headers.get("content-type", "application/octet-stream")
        try:
            answer = await receiving.take(country, channel, body, media_type, livemode=livemode)
        except Exception:  # the network retries: nothing was recorded
            log.exception("taking a %s delivery failed", country)
            answer = _plain(HTTPStatus.SERVICE_UNAVAILABLE, "not recorded; deliver it again")
        await _send(send, answer)

    return app


async def _body(receive: Receive) -> bytes | None:
    """The request's body; None when it is larger than a delivery can be."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_DELIVERY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _plain(status: HTTPStatus, reason: str) -> NetworkAnswer:
    return NetworkAnswer(status, json.dumps({"error": reason}).encode(), "application/json")


async def _send(send: Send, answer: NetworkAnswer) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": answer.status,
            "headers": [(b"content-type", answer.media_type.encode())],
        }
    )
    await send({"type": "http.response.body", "body": answer.body})
