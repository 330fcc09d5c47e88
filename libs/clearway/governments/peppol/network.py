"""What the governments whose invoices travel over Peppol (BE, and DE for its B2B) share: the
connection is the company's participant id, invoices are sent through Clearway's access point
and followed there, in the network's words. Each says how its companies' participant ids are
derived from their VAT numbers (and DE, where its public buyers' invoices go instead). A buyer
answers an invoice it received with a Peppol Invoice Response (responding.py)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from clearway.domain.connections import NetworkCredentials, SetupMethod, declared_peppol_id
from clearway.governments.base import Government

if TYPE_CHECKING:
    import httpx

    from clearway.config import Settings
    from clearway.formats.reading import ReadInvoice
    from clearway.governments.peppol.filing import PeppolFiler
    from clearway.governments.peppol.responding import PeppolResponder
    from clearway.governments.peppol.settings import PeppolEndpoint
    from clearway.governments.pushed import PushChannel
    from clearway.pipeline.decisions import Follower
    from clearway.pipeline.filing.service import FilerSetup
    from clearway.pipeline.polling import Cadence
    from clearway.runtime import ServiceContext
    from clearway.translation.message import Message


class OverPeppol(Government, complete=False):
    system: ClassVar[str] = "Peppol"
    setup_method: ClassVar[SetupMethod] = SetupMethod.NETWORK
    token_policy = None  # the connection is the company's participant id
    en16931_syntax: ClassVar[bool] = True
    over_peppol: ClassVar[bool] = True

    def network_credentials(
        self, *, vat_number: str, peppol_id: str | None, siret: str | None
    ) -> NetworkCredentials:
        """The peppolId the company gave, else the one its VAT number makes."""
        del siret
        return declared_peppol_id(peppol_id) or self.participant(vat_number)

    @abstractmethod
    def participant(self, vat_number: str) -> NetworkCredentials:
        """The participant id a company of this country has by its VAT number; raises
        MissingIdentifierError when the VAT number makes none."""

    # Imported on first call: base.py says why.
    def messages(self) -> tuple[Message, ...]:
        from clearway.governments.peppol.errors import MESSAGES  # noqa: PLC0415

        return MESSAGES

    def read_document(self, content: bytes, media_type: str) -> ReadInvoice:
        from clearway.governments.peppol.reading import read_document  # noqa: PLC0415

        return read_document(content, media_type, country=self.code)

    def filer(self, setup: FilerSetup, endpoint: PeppolEndpoint) -> PeppolFiler:
        from clearway.governments.peppol.client import PeppolClient  # noqa: PLC0415
        from clearway.governments.peppol.filing import PeppolFiler  # noqa: PLC0415

        client = PeppolClient(endpoint.ap_url, endpoint.ap_api_key, setup.http, country=self.code)
        return PeppolFiler(client)

    def cadence(self) -> Cadence:
        from clearway.governments.peppol.status import CADENCE  # noqa: PLC0415

        return CADENCE

    # --- receiving: the access point delivers what is sent to the company's participant id ------

    def push_channel(self, settings: Settings) -> PushChannel:
        from clearway.governments.peppol.receiving import PeppolPushChannel  # noqa: PLC0415

        del settings  # the access point's forwarding needs nothing configured on this side
        return PeppolPushChannel(self.code, self.receivable_document_types(), self.receiver_problem)

    def receivable_document_types(self) -> tuple[str, ...]:
        """The Peppol document type ids its companies receive: what the SMP registration
        publishes for them, and what their deliveries may be."""
        from clearway.governments.peppol.receiving import BIS_BILLING_TYPES  # noqa: PLC0415

        return BIS_BILLING_TYPES

    def receiver_problem(self, participant_id: str) -> str | None:
        """What a receiver participant id in one of this country's schemes is not (its checks
        failed), e.g. "Belgian enterprise number"; None when it may be one of its companies'."""
        del participant_id
        return None

    def follower(
        self, context: ServiceContext, http: httpx.AsyncClient, endpoint: PeppolEndpoint
    ) -> Follower:
        from clearway.governments.peppol.status import PeppolStatusFollower  # noqa: PLC0415

        del context
        return PeppolStatusFollower(http, endpoint, country=self.code)

    def buyer_response(self, received: Mapping[str, Any]) -> str:
        del received
        return "a Peppol BIS 3 Invoice Response (AP accepted, RE rejected) to the supplier"

    def responder(
        self, context: ServiceContext, http: httpx.AsyncClient, received: Mapping[str, Any]
    ) -> PeppolResponder:
        """The Invoice Response through Clearway's access point of the invoice's mode."""
        from clearway.domain.ids import utcnow  # noqa: PLC0415
        from clearway.governments.peppol.client import PeppolClient  # noqa: PLC0415
        from clearway.governments.peppol.responding import PeppolResponder  # noqa: PLC0415

        endpoint = self.endpoints(context.settings.governments()).for_mode(received["livemode"])
        client = PeppolClient(endpoint.ap_url, endpoint.ap_api_key, http, country=self.code)
        return PeppolResponder(
            client, received["id"], bytes(received["document"]), today=utcnow().date()
        )
