"""Registering a company's participant identifier with a network (the Peppol SMP of BE and DE).

Peppol does not standardise how an access point's customer is published in the SMP: each
provider has its own API. The one Clearway knows is the sandbox simulator's registration
(POST {"participantId", "name", "documentTypes"}: 201, or 422 with the reason); a deployment
without a registration URL records the identifier and registers it with its provider by other
means. The document types are what the SMP publishes the company for (one ServiceMetadata
each): a sender's access point looks its document's type up before sending, so only those
arrive (OverPeppol.receivable_document_types).
"""

from __future__ import annotations

from http import HTTPStatus

import httpx

from clearway.governments.peppol.client import DOCUMENT_SCHEME


class ParticipantRefusedError(Exception):
    """The network will not publish this identifier (malformed, failed check digits)."""


class NetworkUnavailableError(Exception):
    """The network did not answer usefully; nothing was registered."""


async def register_participant(
    http: httpx.AsyncClient,
    registration_url: str,
    participant_id: str,
    name: str,
    document_types: tuple[str, ...],
) -> None:
    registration = {
        "participantId": participant_id,
        "name": name,
        "documentTypes": [
            f"{DOCUMENT_SCHEME}::{document_type}" for document_type in document_types
        ],
    }
    try:
        response = await http.post(registration_url, json=registration)
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
