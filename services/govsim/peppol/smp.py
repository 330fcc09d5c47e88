"""The sandbox SMP of the simulated access point: the SMP 1.x ServiceGroup and ServiceMetadata
documents of the participants it lists."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote

from clearway.domain.sandbox import SandboxScenario
from fastapi import APIRouter, Request, Response
from lxml import etree

from services.govsim.faults import scenario_of
from services.govsim.peppol.invoice_response import DOCUMENT_TYPE as INVOICE_RESPONSE
from services.govsim.peppol.invoice_response import PROFILE_ID as INVOICE_RESPONSE_PROCESS
from services.govsim.peppol.participants import (
    BILLING_PROCESS,
    DOCUMENT_SCHEME,
    PARTICIPANT_SCHEME,
)
from services.govsim.peppol.state import (
    Participant,
    PeppolSimulator,
)

SMP_NS = "http://busdox.org/serviceMetadata/publishing/1.0/"
IDENTIFIERS_NS = "http://busdox.org/transport/identifiers/1.0/"
AS4_TRANSPORT_PROFILE = "peppol-transport-as4-v2_0"


def add_smp_routes(router: APIRouter, simulator: PeppolSimulator) -> None:
    """The SMP lookups, under the access point API's prefix (its hrefs point there)."""
    api_prefix = router.prefix

    @router.get("/smp/{participant_id}")
    async def service_group(request: Request, participant_id: str) -> Response:
        unknown = scenario_of(request) is SandboxScenario.RECEIVER_UNKNOWN
        participant = simulator.participant(participant_id, unknown=unknown)
        if participant is None:
            return Response("Not Found", HTTPStatus.NOT_FOUND, media_type="text/plain")
        return Response(
            _service_group(request, participant, api_prefix), media_type="application/xml"
        )

    @router.get("/smp/{participant_id}/services/{document_type:path}")
    async def service_metadata(
        request: Request, participant_id: str, document_type: str
    ) -> Response:
        unknown = scenario_of(request) is SandboxScenario.RECEIVER_UNKNOWN
        participant = simulator.participant(participant_id, unknown=unknown)
        bare_type = document_type.removeprefix(f"{DOCUMENT_SCHEME}::")
        if participant is None or bare_type not in participant.document_types:
            return Response("Not Found", HTTPStatus.NOT_FOUND, media_type="text/plain")
        return Response(_service_metadata(participant, bare_type), media_type="application/xml")


def _service_group(request: Request, participant: Participant, api_prefix: str) -> bytes:
    """The SMP 1.x ServiceGroup: the participant and a reference per document type."""
    root = etree.Element(f"{{{SMP_NS}}}ServiceGroup", nsmap={"smp": SMP_NS, "id": IDENTIFIERS_NS})
    identifier = etree.SubElement(root, f"{{{IDENTIFIERS_NS}}}ParticipantIdentifier")
    identifier.set("scheme", PARTICIPANT_SCHEME)
    identifier.text = participant.participant_id
    references = etree.SubElement(root, f"{{{SMP_NS}}}ServiceMetadataReferenceCollection")
    base = str(request.base_url).rstrip("/")
    participant_path = quote(f"{PARTICIPANT_SCHEME}::{participant.participant_id}", safe="")
    for document_type in participant.document_types:
        document_path = quote(f"{DOCUMENT_SCHEME}::{document_type}", safe="")
        etree.SubElement(references, f"{{{SMP_NS}}}ServiceMetadataReference").set(
            "href", f"{base}{api_prefix}/smp/{participant_path}/services/{document_path}"
        )
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _service_metadata(participant: Participant, document_type: str) -> bytes:
    """The SMP 1.x ServiceMetadata (unsigned here) naming this simulator's AS4 endpoint."""
    smp, ids = f"{{{SMP_NS}}}", f"{{{IDENTIFIERS_NS}}}"
    root = etree.Element(f"{smp}ServiceMetadata", nsmap={"smp": SMP_NS, "id": IDENTIFIERS_NS})
    information = etree.SubElement(root, f"{smp}ServiceInformation")
    participant_id = etree.SubElement(information, f"{ids}ParticipantIdentifier")
    participant_id.set("scheme", PARTICIPANT_SCHEME)
    participant_id.text = participant.participant_id
    document_id = etree.SubElement(information, f"{ids}DocumentIdentifier")
    document_id.set("scheme", DOCUMENT_SCHEME)
    document_id.text = document_type
    process = etree.SubElement(etree.SubElement(information, f"{smp}ProcessList"), f"{smp}Process")
    process_id = etree.SubElement(process, f"{ids}ProcessIdentifier")
    process_id.set("scheme", "cenbii-procid-ubl")
    # An Invoice Response travels in its own BIS process, the billing documents in billing's.
    process_id.text = (
        INVOICE_RESPONSE_PROCESS if document_type == INVOICE_RESPONSE else BILLING_PROCESS
    )
    endpoint = etree.SubElement(
        etree.SubElement(process, f"{smp}ServiceEndpointList"), f"{smp}Endpoint"
    )
    endpoint.set("transportProfile", AS4_TRANSPORT_PROFILE)
    etree.SubElement(endpoint, f"{smp}EndpointURI").text = "https://ap.govsim.invalid/as4"
    etree.SubElement(endpoint, f"{smp}RequireBusinessLevelSignature").text = "false"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
