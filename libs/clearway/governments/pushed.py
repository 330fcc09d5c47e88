"""What a network that pushes its deliveries hands Clearway (SDI to the recipient's channel, a
Peppol access point to its customer), and what it expects back.

A pulled inbox is read by the receiving machine (clearway.governments.inbox); a pushed one
arrives as an HTTP request at the receiver's network endpoint (`POST /networks/<cc>/deliveries`,
services/receiver). The government's `PushChannel` reads the request's body into a
`PushedDelivery` (the same `Delivery` a pulled inbox gives, and whom it is addressed to) and
words the answers its network expects: a receipt once the delivery is recorded (or was already:
a network that retries gets the same receipt), or a refusal saying why. The network keeps what
it could not deliver and retries it, so a refusal loses nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from clearway.governments.inbox import Delivery

# How a network names the receiving company, as the connection or its company records it: the
# company's VAT number (SDI: the buyer's IdFiscaleIVA), the connection's identifier on the
# network, or its whole participant id, scheme and identifier (Peppol's "0208:0123456749": the
# connection keeps the two apart, and the same identifier may be under two schemes).
RecipientField = Literal["vat_number", "network_identifier", "participant_id"]


@dataclass(frozen=True)
class PushedDelivery:
    """One delivery a network pushed, and the receiving company it is addressed to."""

    recipient_field: RecipientField
    recipient: str
    delivery: Delivery


@dataclass(frozen=True)
class NetworkAnswer:
    """The HTTP answer the network expects."""

    status: int
    body: bytes
    media_type: str


class DeliveryRefusedError(Exception):
    """The request is not a delivery this network makes (malformed, another network's): nothing
    is recorded and the network is told why."""


class PushChannel(Protocol):
    """A government's side of the receiver's network endpoint."""

    def take(self, body: bytes, media_type: str) -> PushedDelivery:
        """The delivery in a request's body; raises DeliveryRefusedError saying why not.
        Pure: parses only what says where and what the delivery is (the document is read
        afterwards, by clearway.pipeline.reading, findings kept)."""
        ...

    def received(self, pushed: PushedDelivery, received_id: str) -> NetworkAnswer:
        """The receipt for a delivery recorded as `received_id` (now or before)."""
        ...

    def refused(self, reason: str) -> NetworkAnswer:
        """The answer refusing a request, in the network's own terms."""
        ...
