"""Registering a company's participant identifier with a network (the Peppol SMP of BE and DE).

Peppol does not standardise how an access point's customer is published in the SMP: each
provider has its own API. The one Clearway knows is the sandbox simulator's registration
(POST {"participantId", "name"}: 201, or 422 with the reason); a deployment without a
registration URL records the identifier and registers it with its provider by other means.
"""

from __future__ import annotations

from http import HTTPStatus

import httpx


class ParticipantRefusedError(Exception):
    """The network will not publish this identifier (malformed, failed check digits)."""


class NetworkUnavailableError(Exception):
    """The network did not answer usefully; nothing was registered."""


async def register_participant(
    http: httpx.AsyncClient, registration_url: str, participant_id: str, name: str
) -> None:
    try:
        response = await http.post(
            registration_url, json={"participantId": participant_id, "name": name}
        )
    except httpx.HTTPError as exc:
        raise NetworkUnavailableError(
            f"the network registration did not answer: {type(exc).__name__}"
        ) from exc
    if response.status_code in {HTTPStatus.OK, HTTPStatus.CREATED}:
        return
    if response.status_code in {HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY}:
        try:
            reason = str(response.json().get("detail") or response.text)
        except ValueError:
            reason = response.text
        raise ParticipantRefusedError(reason)
    raise NetworkUnavailableError(f"the network registration answered HTTP {response.status_code}")
