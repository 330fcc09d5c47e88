"""The buyer's response to a FatturaPA received through SDI: the Notifica di Esito Committente
(esito.py) sent with SdIRiceviNotifica for the received file. SDI answers ES01 (taken: it
relays the esito to the supplier as NE) or ES00 with a scarto (SE), which ends the response
failed in SDI's words: a B2B invoice (FPR12), the 15 days past, an esito already given.

SDI takes one esito per file: after an attempt whose answer was lost, a scarto saying the esito
was already received is this response's own, taken then.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx

from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.responses import BuyerResponse, ResponseReceipt
from clearway.governments.it.client import SdiClient
from clearway.governments.it.esito import (
    ReceivedFatturaPA,
    esito_committente,
    esito_file_name,
    scarto_reason,
)

TAKEN = "ES01"
ALREADY_RECEIVED = "già ricevuto"  # the SE's Note when SDI has this file's esito already


Channel = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


class SdiResponder:
    """Sends the buyer's esito on one received file, over `channel`: a client presenting the
    receiving connection's certificate (channel.presenting_certificate), as SDICoop requires."""

    def __init__(self, client: SdiClient, received: ReceivedFatturaPA, channel: Channel) -> None:
        self._client = client
        self._received = received
        self._channel = channel

    async def respond(self, response: BuyerResponse, *, attempts: int) -> ResponseReceipt:
        name = esito_file_name(self._received.file_name)
        esito = esito_committente(self._received, response)
        async with self._channel() as http:
            answer = await self._client.send_esito(name, esito, http=http)
        details = {"identificativoSdI": self._received.identificativo, "nomeFile": name}
        if answer.esito == TAKEN:
            return ResponseReceipt(network_id=self._received.identificativo, details=details)
        reason = scarto_reason(answer.scarto) if answer.scarto else f"SDI: {answer.esito}"
        if attempts and ALREADY_RECEIVED in reason:
            return ResponseReceipt(
                network_id=self._received.identificativo,
                details={**details, "alreadyRecorded": True},
            )
        raise GovernmentRefusedError(f"SDI refused the esito committente: {reason}")
