"""What a government's network carries back to the supplier of a received invoice: the buyer's
response (clearway.domain.responses), sent by the responding machine
(clearway.pipeline.responding) through the Responder its government gives for that invoice.

`Responder.respond` answers the network's receipt (ResponseReceipt) once the network took the
response, or raises what a government client raises: GovernmentTransientError (nothing decided:
tried again after a backoff, or after the network's `retry_after`), GovernmentRefusedError (the
network refused it in its own words: the response failed, for good), or ResponseImpossibleError
(what the network needs is not in the received invoice: failed, for good, saying what is
missing). `attempts` is how many attempts failed before this one: after a failure whose outcome
is unknown, a responder looks whether the network already has the response before it sends it
again, so the supplier is told once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from clearway.domain.responses import BuyerResponse, ResponseReceipt


class ResponseImpossibleError(Exception):
    """The received invoice lacks what the network's response needs; the message says what."""


class Responder(Protocol):
    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        """Send the buyer's response for the received invoice this responder was made for."""
        ...
