"""The simulated access point's receiving side: a document another access point sent over AS4
to one of its customer's participants, forwarded to the customer (Clearway's receiver).

What access point providers do with an inbound document, and so what this does: the AS4
payload is the Standard Business Document (the SBDH, then the UBL or CII document untouched);
the provider POSTs it to its customer's endpoint as `application/xml` (phoss-ap's HTTP
forwarding, the Tickstar and Storecove style), takes any 2xx as the delivery acknowledged (MLS
AP back to the sender), and retries anything else a few times with a growing pause (the AS4
sender's retries, then the provider's own). A 4xx is the customer's refusal: not retried, MLS
RE. Only a participant registered at this access point (Clearway's connections register theirs)
is its customer; the document type must be one it is registered for (the sender's access point
finds no SMP entry otherwise).

    POST /_sim/peppol/incoming      {"receiver", "country": "BE"|"DE", "document"?, "sender"?,
                                     "instanceIdentifier"?}; without a document, a sample one
                                     (BE: Peppol BIS UBL, DE: XRechnung CII) addressed to the
                                     receiver. Answers the instance identifier, the AS4 message
                                     id, the attempts and the outcome (delivered, refused,
                                     undelivered) with the receiver's last answer.
    POST /_sim/peppol/incoming/{instanceIdentifier}/redeliver    the same SBD again, as a
                                     provider does when an acknowledgement was lost.

Sandbox controls: no real access point has these; the SBD and the forwarding are real.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Literal

import httpx
from clearway.governments.de.document import render_xrechnung_cii
from clearway.governments.peppol.document import render_peppol_bis
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from lxml import etree
from pydantic import BaseModel, ConfigDict, Field

from services.govsim.peppol.api import SendError, check_participant
from services.govsim.peppol.participants import (
    BILLING_PROCESS,
    DOCUMENT_SCHEME,
    PARTICIPANT_SCHEME,
    document_type_id,
    normalize_participant,
)
from services.govsim.peppol.state import IncomingDelivery, PeppolSimulator
from services.govsim.purchases import sample_address, sample_party, sample_request
from services.govsim.ubl_cii import ROOTS, Syntax, read_document
from services.govsim.untrusted_xml import UntrustedXmlError, parse_untrusted_xml

SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
DELIVERY_ATTEMPTS = 4
DELIVERY_TIMEOUT_SECONDS = 30.0
SAMPLE_SENDERS = {"BE": "0208:0403000059", "DE": "9930:DE811569869"}
_DECLARATION = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>\s*")
_ENCODING = re.compile(rb"encoding\s*=\s*[\"']([A-Za-z0-9._-]+)[\"']")


class IncomingRequest(BaseModel):
    model_config = ConfigDict(populate_by_name=True, frozen=True)
    receiver: str = Field(min_length=1)
    country: Literal["BE", "DE"]
    document: str | None = None
    sender: str | None = None
    instance_identifier: str | None = Field(default=None, alias="instanceIdentifier")


def add_incoming_routes(router: APIRouter, simulator: PeppolSimulator) -> None:
    @router.post("/incoming", response_model=None)
    async def incoming(request: IncomingRequest) -> Response:
        """A document for one of the access point's participants, forwarded to Clearway."""
        try:
            delivery = _incoming_delivery(simulator, request)
        except SendError as error:
            return error.response
        simulator.incoming[delivery.instance_identifier] = delivery
        return JSONResponse(await forward(simulator, delivery))

    @router.post("/incoming/{instance_identifier}/redeliver", response_model=None)
    async def redeliver(instance_identifier: str) -> Response:
        """The same SBD forwarded again (an acknowledgement the provider did not get)."""
        delivery = simulator.incoming.get(instance_identifier)
        if delivery is None:
            return SendError(
                HTTPStatus.NOT_FOUND, "NOT_FOUND", f"No incoming document {instance_identifier}"
            ).response
        return JSONResponse(await forward(simulator, delivery))


def _incoming_delivery(simulator: PeppolSimulator, request: IncomingRequest) -> IncomingDelivery:
    unprocessable = HTTPStatus.UNPROCESSABLE_ENTITY
    receiver_id = normalize_participant(request.receiver)
    check_participant("receiver", receiver_id)
    receiver = simulator.customer(receiver_id)
    if receiver is None:
        raise SendError(
            unprocessable,
            "RECEIVER_NOT_FOUND",
            f"{receiver_id} is not registered at this access point",
        )
    sender = normalize_participant(request.sender or SAMPLE_SENDERS[request.country])
    check_participant("sender", sender)
    document = (
        request.document.encode()
        if request.document is not None
        else sample_document(
            request.country, receiver.participant_id, dt.datetime.now(dt.UTC).date()
        )
    )
    syntax, customization = _document_type(document)
    document_type = document_type_id(syntax, customization)
    if document_type not in receiver.document_types:
        raise SendError(
            unprocessable,
            "DOCUMENT_TYPE_NOT_SUPPORTED",
            f"{receiver.participant_id} does not accept {document_type}",
        )
    instance_identifier = (request.instance_identifier or "").strip() or str(uuid.uuid4())
    sbd = standard_business_document(
        document,
        SbdhParts(
            sender=sender,
            receiver=receiver.participant_id,
            syntax=syntax,
            document_type=document_type,
            instance_identifier=instance_identifier,
            country_c1=request.country,
            created=dt.datetime.now(dt.UTC),
        ),
    )
    return IncomingDelivery(
        instance_identifier=instance_identifier,
        receiver=receiver.participant_id,
        country=request.country,
        document_type=document_type,
        sbd=sbd,
        as4_message_id=f"{uuid.uuid4()}@govsim-ap",
    )


def _document_type(document: bytes) -> tuple[Syntax, str]:
    try:
        root = parse_untrusted_xml(document)
    except UntrustedXmlError as error:
        raise SendError(
            HTTPStatus.UNPROCESSABLE_ENTITY, "INVALID_XML", f"Not well-formed XML: {error.message}"
        ) from error
    business = read_document(root)
    if business is None:
        raise SendError(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "UNSUPPORTED_DOCUMENT",
            "The root is neither UBL Invoice/CreditNote nor CII",
        )
    return business.syntax, business.customization_id


# --- the Standard Business Document -------------------------------------------------------------


@dataclass(frozen=True)
class SbdhParts:
    sender: str
    receiver: str
    syntax: Syntax
    document_type: str
    instance_identifier: str
    country_c1: str
    created: dt.datetime


def standard_business_document(document: bytes, parts: SbdhParts) -> bytes:
    """The SBD of the Peppol Envelope specification: the header, then the business document's
    bytes as they are (without their XML declaration, which cannot stand inside another
    document); UTF-8, as the document must be."""
    declaration = _DECLARATION.match(document)
    if declaration is not None:
        encoding = _ENCODING.search(declaration.group())
        if encoding is not None and encoding.group(1).decode().upper() not in {"UTF-8", "UTF8"}:
            raise SendError(
                HTTPStatus.UNPROCESSABLE_ENTITY,
                "UNSUPPORTED_ENCODING",
                "The business document must be UTF-8",
            )
    payload = document[declaration.end() if declaration else 0 :].rstrip()
    header = etree.tostring(_header(parts), encoding="UTF-8")
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        + f'<StandardBusinessDocument xmlns="{SBDH_NS}">\n'.encode()
        + header
        + b"\n"
        + payload
        + b"\n</StandardBusinessDocument>\n"
    )


def _header(parts: SbdhParts) -> etree._Element:
    def add(parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{SBDH_NS}}}{name}")
        element.text = text
        return element

    header = etree.Element(
        f"{{{SBDH_NS}}}StandardBusinessDocumentHeader",
        nsmap={None: SBDH_NS},  # type: ignore[dict-item]
    )
    add(header, "HeaderVersion", "1.0")
    for role, participant in (("Sender", parts.sender), ("Receiver", parts.receiver)):
        add(add(header, role), "Identifier", participant).set("Authority", PARTICIPANT_SCHEME)
    root = next(name for name, syntax in ROOTS.items() if syntax is parts.syntax)
    identification = add(header, "DocumentIdentification")
    add(identification, "Standard", root.namespace)
    add(identification, "TypeVersion", "D16B" if parts.syntax is Syntax.CII else "2.1")
    add(identification, "InstanceIdentifier", parts.instance_identifier)
    add(identification, "Type", root.localname)
    created = parts.created.isoformat(timespec="seconds").replace("+00:00", "Z")
    add(identification, "CreationDateAndTime", created)
    scope = add(header, "BusinessScope")
    for scope_type, value, scheme in (
        ("DOCUMENTID", parts.document_type, DOCUMENT_SCHEME),
        ("PROCESSID", BILLING_PROCESS, "cenbii-procid-ubl"),
        ("COUNTRY_C1", parts.country_c1, None),
    ):
        item = add(scope, "Scope")
        add(item, "Type", scope_type)
        add(item, "InstanceIdentifier", value)
        if scheme is not None:
            add(item, "Identifier", scheme)
    return header


# --- forwarding to the customer -----------------------------------------------------------------


async def forward(simulator: PeppolSimulator, delivery: IncomingDelivery) -> dict[str, Any]:
    """POST the SBD to the receiver's endpoint until it acknowledges (2xx) or refuses (4xx), at
    most DELIVERY_ATTEMPTS times, the pause doubling from `simulator.delivery_backoff`."""
    outcome: dict[str, Any] = {
        "instanceIdentifier": delivery.instance_identifier,
        "as4MessageId": delivery.as4_message_id,
        "receiverId": f"{PARTICIPANT_SCHEME}::{delivery.receiver}",
        "documentTypeId": f"{DOCUMENT_SCHEME}::{delivery.document_type}",
        "attempts": 0,
    }
    if not simulator.receiver_url:
        return {**outcome, "outcome": "undelivered", "reason": "no receiver endpoint configured"}
    url = f"{simulator.receiver_url.rstrip('/')}/networks/{delivery.country.lower()}/deliveries"
    headers = {
        "Authorization": f"Bearer {simulator.network_key}",
        "Content-Type": "application/xml",
    }
    last: dict[str, Any] = {}
    async with httpx.AsyncClient(
        timeout=DELIVERY_TIMEOUT_SECONDS, transport=simulator.delivery_transport
    ) as http:
        for attempt in range(1, DELIVERY_ATTEMPTS + 1):
            if attempt > 1:
                await asyncio.sleep(simulator.delivery_backoff * 2 ** (attempt - 2))
            outcome["attempts"] = attempt
            try:
                response = await http.post(url, content=delivery.sbd, headers=headers)
            except httpx.HTTPError as exc:
                last = {"reason": f"{type(exc).__name__}: {exc}"}
                continue
            last = {"status": response.status_code, "answer": _answer(response)}
            if response.is_success:
                return {**outcome, "outcome": "delivered", **last}
            if response.status_code < HTTPStatus.INTERNAL_SERVER_ERROR and (
                response.status_code != HTTPStatus.TOO_MANY_REQUESTS
            ):
                return {**outcome, "outcome": "refused", **last}
    return {**outcome, "outcome": "undelivered", **last}


def _answer(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


# --- the sample document --------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSupplier:
    """Who sends a country's sample, in what, with what terms."""

    party: dict[str, Any]
    descriptions: tuple[str, str]
    vat_rate: int
    bank_account: str
    payment_days: int
    render: Callable[..., bytes]
    number_prefix: str
    buyer_name: str
    buyer_address: dict[str, str]


SAMPLE_SUPPLIERS = {
    "BE": SampleSupplier(
        party=sample_party(
            "BE0403000059",
            "Leverancier Voorbeeld BV",
            sample_address("Kerkstraat 1", "Gent", "9000", "BE"),
            peppolId=SAMPLE_SENDERS["BE"],
        ),
        descriptions=("Adviesdiensten", "Hosting"),
        vat_rate=21,
        bank_account="BE68539007547034",
        payment_days=30,
        render=render_peppol_bis,
        number_prefix="INV",
        buyer_name="Ontvanger NV",
        buyer_address=sample_address("Meir 1", "Antwerpen", "2000", "BE"),
    ),
    "DE": SampleSupplier(
        party=sample_party(
            "DE811569869",
            "Lieferant Beispiel GmbH",
            sample_address("Hauptstraße 1", "Berlin", "10115", "DE"),
            # Its electronic address is the participant id it sends from (the SBDH's sender),
            # as the Belgian one's: the buyer's Invoice Response is addressed back to it.
            peppolId=SAMPLE_SENDERS["DE"],
            email="rechnung@lieferant.example",
            phone="+49 30 7654321",
        ),
        descriptions=("Beratungsleistung", "Hosting"),
        vat_rate=19,
        bank_account="DE89370400440532013000",
        payment_days=14,
        render=render_xrechnung_cii,
        number_prefix="RE",
        buyer_name="Empfänger GmbH",
        buyer_address=sample_address("Marienplatz 8", "München", "80331", "DE"),
    ),
}


def sample_document(country: str, receiver: str, issued: dt.date) -> bytes:
    """A purchase invoice to `receiver` rendered by Clearway's own renderer: Peppol BIS Billing
    3.0 UBL from a Belgian supplier, or XRechnung CII from a German one."""
    supplier = SAMPLE_SUPPLIERS[country]
    customer: dict[str, Any] = {
        "name": supplier.buyer_name,
        "peppolId": receiver,
        "email": "ap@receiver.example",
        "address": supplier.buyer_address,
    }
    scheme, _, identifier = receiver.partition(":")
    vat_number = {"0208": f"BE{identifier}", "9925": identifier, "9930": identifier}.get(scheme)
    if vat_number is not None:
        customer["vatNumber"] = vat_number.upper()
    number = secrets.token_hex(4).upper()
    request = sample_request(
        country=country,
        supplier=supplier.party,
        customer=customer,
        descriptions=supplier.descriptions,
        vat_rate=supplier.vat_rate,
        currency="EUR",
        issued=issued,
        payment_days=supplier.payment_days,
        payment_means={"bankAccount": supplier.bank_account},
        buyerReference=f"PO-{number}",
    )
    return supplier.render(request, invoice_number=f"{supplier.number_prefix}-{number}")
