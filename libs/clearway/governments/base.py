"""What every government Clearway files for provides: one subclass of Government per folder.

A government says who it is (code, names, the adjective its numbers are named with), how a
company connects to it (setup method, token policy, network identifier, token renewal), which
JSON rules its invoices must pass, which documents it takes (formats, the first its default) and
how they read back into the request (read_document), what its error messages mean, which VAT-id
rule ids it reports, how an invoice is filed with it (its Filer, for the one filing machine,
clearway.pipeline.filing), how a filed invoice is followed to its decision (its cadence and status
follower, for the one poll machine, clearway.pipeline.polling), and what it delivers to a
receiving company (its Inbox, for the one receiving machine, clearway.pipeline.receiving, or its
PushChannel where the network pushes instead; None where it has no receiving side yet), and how
the buyer's response to a received invoice goes back (`buyer_response` names it, its Responder
sends it, for clearway.pipeline.responding; None where the network has none). The registry
(clearway.governments) finds each folder's `government.GOVERNMENT`; the submitters, the poller
and the receiver run what it gives them.

The data is class attributes, checked when a subclass is defined. The rules, formats, messages,
token renewal, Filers, followers and inboxes are methods that import on first call: those
modules import the rule engine, clearway.formats, the pipeline and the government's clients,
which look governments up in the registry; a government.py importing them at the top would be
imported half-made. By default each reads its folder's module: rules.RULES, errors.MESSAGES,
reading.read_document, filing.filer, status.CADENCE and status.follower; a government overrides
what differs (BE and DE share governments/peppol/network.py's OverPeppol; DE routes public
buyers' invoices to ZRE).
"""

from __future__ import annotations

import datetime as dt
import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from clearway.domain.connections import NetworkCredentials, SecretKind, SetupMethod, TokenPolicy

if TYPE_CHECKING:
    from collections.abc import Callable

    import asyncpg
    import httpx

    from clearway.config import GovernmentEndpoints, Governments, Settings
    from clearway.formats import Format
    from clearway.formats.reading import ReadInvoice
    from clearway.governments.inbox import Inbox
    from clearway.governments.pushed import PushChannel
    from clearway.governments.responding import Responder
    from clearway.pipeline.decisions import Follower
    from clearway.pipeline.filing.machine import Route
    from clearway.pipeline.filing.outcomes import Filer
    from clearway.pipeline.filing.service import FilerSetup
    from clearway.pipeline.polling import Cadence, Followed
    from clearway.runtime import ServiceContext
    from clearway.security import Keyring
    from clearway.translation.message import Message
    from clearway.validation.findings import RuleSpec


T = TypeVar("T")
S = TypeVar("S")

AUTHORIZE_AGAIN = "Authorize the connection again (POST /v1/connections)."


class RenewalRefusedError(Exception):
    """The government will not renew; the message tells the user what to do."""


class RenewalDeferredError(Exception):
    """Nothing was decided (the government did not answer): try again later."""


@dataclass(frozen=True)
class Renewal:
    secrets: Mapping[SecretKind, str]
    access_expires_at: dt.datetime
    refresh_expires_at: dt.datetime | None


@dataclass(frozen=True)
class RenewalTools:
    """What a token renewer works with: the deployment's settings, one HTTP client, the pool
    (to read the connection's sealed secrets) and the keyring they are sealed under."""

    settings: Settings
    http: httpx.AsyncClient
    pool: asyncpg.Pool[Any]
    keyring: Keyring | None = None

    async def secret(self, row: Mapping[str, Any], kind: SecretKind) -> str:
        """The connection's secret of that kind; refused when Clearway holds none."""
        from clearway.accounts.connection_secrets import read_secret  # noqa: PLC0415 - see module doc

        async with self.pool.acquire() as conn:
            value = await read_secret(conn, row["id"], kind, keyring=self.keyring)
        if value is None:
            raise RenewalRefusedError(
                f"Clearway holds no {kind.value.replace('_', ' ')} to refresh with. "
                + AUTHORIZE_AGAIN
            )
        return value


def per_mode(endpoints: GovernmentEndpoints[T], make: Callable[[T], S]) -> Callable[[bool], S]:
    """What `make` builds for each mode (a connection's livemode), built once and looked up by
    mode: a live connection renews at the live system, never at the sandbox; while the live
    system is not configured, its renewals are deferred (RenewalDeferredError), as the operator
    may yet configure it."""
    from clearway.config import LiveNotConfiguredError, live_or_error  # noqa: PLC0415 - module doc

    built = {False: make(endpoints.sandbox), True: live_or_error(endpoints, make)}

    def for_mode(livemode: bool) -> S:  # noqa: FBT001 - the connection's livemode
        made = built[livemode]
        if isinstance(made, LiveNotConfiguredError):
            raise RenewalDeferredError(str(made))
        return made

    return for_mode


class TokenRenewer(Protocol):
    async def renew(self, row: Mapping[str, Any], now: dt.datetime) -> Renewal:
        """New tokens for the claimed connection row; raises RenewalRefusedError or
        RenewalDeferredError."""
        ...


class Government(ABC):
    """One government (or network) Clearway files invoices with, for one country."""

    code: ClassVar[str]  # ISO 3166-1 alpha-2, as invoices and connections carry it
    name: ClassVar[str]  # the state, in English: "Romania"
    adjective: ClassVar[str]  # in English, how messages name its numbers: "Romanian"
    system: ClassVar[str]  # the system a connection is made with: "ANAF"
    system_display: ClassVar[str]  # how translated errors name who answered: "ANAF e-Factura"
    setup_method: ClassVar[SetupMethod]
    token_policy: ClassVar[TokenPolicy | None]  # None: no tokens to refresh
    # (malformed, check digit) rule ids for VAT numbers this state issued
    vat_id_rules: ClassVar[tuple[str, str]]
    # The legal format is EN 16931 syntax (UBL or CII): VAT numbers carry their prefix (BT-31).
    en16931_syntax: ClassVar[bool]
    # Receivers are published in the Peppol SMP when they connect.
    over_peppol: ClassVar[bool] = False
    # What the user does before uploading (IT certificate, PL KSeF token); empty otherwise.
    setup_steps: ClassVar[tuple[str, ...]] = ()
    # How the submitter's error for a company without a connection names what to connect to:
    # its system unless it says otherwise.
    connected_with: ClassVar[str | None] = None
    # The name its decisions are caused by (`<cause>-status:<uploadId>`): its code in lower case
    # unless it says otherwise.
    poll_cause: ClassVar[str | None] = None

    _DECLARED: ClassVar[tuple[str, ...]] = (
        "code",
        "name",
        "adjective",
        "system",
        "system_display",
        "setup_method",
        "token_policy",
        "vat_id_rules",
        "en16931_syntax",
    )

    def __init_subclass__(cls, *, complete: bool = True, **kwargs: Any) -> None:
        """`complete=False`: a part several governments share (governments/peppol/network.py),
        not one government; its subclasses are checked."""
        super().__init_subclass__(**kwargs)
        if not complete:
            return
        missing = [name for name in Government._DECLARED if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"{cls.__name__} does not declare {', '.join(missing)}")

    def rules(self) -> tuple[RuleSpec, ...]:
        """Its own JSON rules, beyond EN 16931 and Clearway's general ones: its folder's
        rules.RULES."""
        rules: tuple[RuleSpec, ...] = self._own_module("rules").RULES
        return rules

    @abstractmethod
    def formats(self) -> tuple[Format, ...]:
        """The documents it takes, each with its gates; the first is the default."""

    def read_document(self, content: bytes, media_type: str) -> ReadInvoice:
        """One of its documents (in any of its formats) read back into the request POST
        /v1/invoices takes, with the totals the document states and the request fields the
        format has no place for: its folder's reading.read_document. Pure; a document that
        cannot be read (malformed, hostile, another format) raises
        clearway.formats.hardened.UnreadableDocumentError, saying why."""
        read: Callable[[bytes, str], ReadInvoice] = self._own_module("reading").read_document
        return read(content, media_type)

    def messages(self) -> tuple[Message, ...]:
        """Its error catalogue, in the order the entries are tried: its folder's
        errors.MESSAGES."""
        messages: tuple[Message, ...] = self._own_module("errors").MESSAGES
        return messages

    def _own_module(self, name: str) -> Any:
        """A module of the government's folder, imported on first use (see the module doc)."""
        return importlib.import_module(f"{type(self).__module__.rpartition('.')[0]}.{name}")

    def network_credentials(
        self, *, vat_number: str, peppol_id: str | None, siret: str | None
    ) -> NetworkCredentials | None:
        """The company's participant identifier on its network; None without a network.
        Raises MissingIdentifierError when none can be derived."""
        del vat_number, peppol_id, siret
        return None

    def token_renewer(self, tools: RenewalTools) -> TokenRenewer | None:
        """Renews a connection's tokens before they expire (RO OAuth, PL KSeF); None when
        there is nothing to renew (a certificate expires with the connection)."""
        del tools
        return None

    # --- filing (clearway.pipeline.filing) ------------------------------------------------------

    @property
    def with_token(self) -> bool:
        """Whether its connections hold tokens to file with; False: an identifier or a
        certificate."""
        return self.token_policy is not None

    def endpoints(self, governments: Governments) -> GovernmentEndpoints[Any]:
        """Its system's endpoints, sandbox and live, in this deployment's settings."""
        return governments.for_connections(self.code)

    def filing_endpoints(
        self, governments: Governments, request: Mapping[str, Any]
    ) -> GovernmentEndpoints[Any]:
        """Where that invoice is filed, for the live configuration check (DE: by invoice)."""
        del request
        return self.endpoints(governments)

    def filer(self, setup: FilerSetup, endpoint: Any) -> Filer:
        """Its Filer at one of its endpoints: its folder's filing.filer(setup, endpoint)."""
        make: Callable[[FilerSetup, Any], Filer] = self._own_module("filing").filer
        return make(setup, endpoint)

    def route(self, setup: FilerSetup) -> Route:
        """The mode's Filer for each invoice: the one Filer for all (DE routes by invoice). A
        live one not configured raises LiveNotConfiguredError when asked for."""
        from clearway.pipeline.filing.service import filer_in_mode  # noqa: PLC0415 - module doc

        filer = filer_in_mode(
            self.endpoints(setup.context.settings.governments()),
            lambda endpoint: self.filer(setup, endpoint),
            livemode=setup.livemode,
        )
        return lambda _request: filer()

    # --- following (clearway.pipeline.polling) --------------------------------------------------

    def cadence(self) -> Cadence:
        """How often its decisions are asked for: its folder's status.CADENCE."""
        cadence: Cadence = self._own_module("status").CADENCE
        return cadence

    def followed(self) -> Followed:
        """What the poll machine knows of it: its cadence and the name its decisions are caused
        by."""
        from clearway.pipeline.polling import Followed  # noqa: PLC0415 - see module doc

        return Followed(self.cadence(), cause=self.poll_cause or self.code.lower())

    def follower(self, context: ServiceContext, http: httpx.AsyncClient, endpoint: Any) -> Follower:
        """Its status follower at one of its endpoints: its folder's
        status.follower(context, http, endpoint)."""
        make: Callable[[ServiceContext, httpx.AsyncClient, Any], Follower]
        make = self._own_module("status").follower
        return make(context, http, endpoint)

    def status_follower(
        self, context: ServiceContext, http: httpx.AsyncClient, *, livemode: bool
    ) -> Follower:
        """The follower of its invoices of one mode: a sandbox invoice is followed at the
        sandbox, a live one at the live system, or not at all when that is not configured here
        (NotConfiguredFollower: never the sandbox)."""
        from clearway.pipeline.decisions import follower_in_mode  # noqa: PLC0415 - module doc

        return follower_in_mode(
            self.endpoints(context.settings.governments()),
            lambda endpoint: self.follower(context, http, endpoint),
            livemode=livemode,
        )

    # --- receiving (clearway.pipeline.receiving) -------------------------------------------------

    def inbox(
        self, context: ServiceContext, http: httpx.AsyncClient, connection: Mapping[str, Any]
    ) -> Inbox | None:
        """The inbox of one receiving connection (its `connections` row with its company's
        `vat_number`), read with the connection's credentials at its mode's endpoints with
        `http`; None when it has no pulled inbox (no receiving side yet, or it pushes deliveries
        instead). A live connection with no live endpoint configured raises
        LiveNotConfiguredError."""
        del context, http, connection
        return None

    def push_channel(self, settings: Settings) -> PushChannel | None:
        """How its network pushes deliveries to the receiver's network endpoint (SDI, a Peppol
        access point), read and answered, as this deployment's `settings` configure its side
        (SDI's: the channel's code); None when it pushes nothing (its inbox is pulled, or it
        has no receiving side yet)."""
        del settings
        return None

    # --- the buyer's response (clearway.pipeline.responding) ------------------------------------

    def buyer_response(self, received: Mapping[str, Any]) -> str | None:
        """How its network carries a buyer's accept or reject of that received invoice (its
        `received_invoices` row), in the API's words; None: it has no such message, and the API
        refuses the response. Pure."""
        del received
        return None

    def responder(
        self, context: ServiceContext, http: httpx.AsyncClient, received: Mapping[str, Any]
    ) -> Responder | None:
        """What sends the buyer's response to that received invoice (its `received_invoices`
        row with the document) through the network, at its mode's endpoints with `http`; None
        where `buyer_response` is None. A live one with no live endpoint configured raises
        LiveNotConfiguredError."""
        del context, http, received
        return None

    def __repr__(self) -> str:
        return f"<Government {self.code}: {self.system}>"
