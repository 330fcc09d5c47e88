"""What the simulator tests share: a hand-moved clock, the hostile XML every simulator must
refuse without expanding anything, and a client of the app around given simulators."""

from __future__ import annotations

import datetime as dt
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from services.govsim.app import CountrySimulators, GovsimSettings, create_app

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from services.govsim.ro.state import AnafSimulator

HOSTILE_XML_IDS = ["xxe", "billion-laughs", "xxe-utf16"]


class FakeClock:
    """Time the tests move by hand, so processing delays and limits need no sleeping."""

    def __init__(self, start: float = 1_780_308_000.0) -> None:  # 2026-06-01 10:00 UTC
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def utc(self) -> dt.datetime:
        """The same instant as an aware UTC datetime, for code whose clock gives one."""
        return dt.datetime.fromtimestamp(self.now, dt.UTC)


UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"


def ubl_invoice_xml(*, customization: str, number: str, rest: str) -> bytes:
    """A UBL Invoice dated 2026-06-01 in EUR: its CustomizationID, its number, then `rest`."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="{UBL_INVOICE_NS}"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>{customization}</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2026-06-01</cbc:IssueDate>
  <cbc:InvoiceTypeCode>380</cbc:InvoiceTypeCode>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  {rest}
</Invoice>
""".encode()


# What one of each injected fault answers, in the order `queue_every_fault` queues them.
EVERY_FAULT_STATUS = [500, 503, 429, 504]


async def queue_every_fault(http: httpx.AsyncClient, control: str, **fault: Any) -> None:
    """Queue one fault of each kind (500, 503, 429, then a lost response) through the standard
    control; `fault` adds to each (`path_contains`, `retry_after_seconds`)."""
    for kind in ("http_500", "http_503", "http_429", "lost_response"):
        await http.post(f"{control}/faults", json={"kind": kind, **fault})


def refused_unexpanded(
    response: httpx.Response, status: int, *, shorter_than: int
) -> httpx.Response:
    """The answer to a hostile document, asserted to be a refusal with `status` in a short answer
    that shows nothing an entity would have expanded to."""
    assert response.status_code == status
    assert "root:" not in response.text
    assert len(response.text) < shorter_than
    return response


def hostile_xml(root: str, namespace: str) -> list[bytes]:
    """An external-entity read, a billion-laughs bomb, and the first again hidden by UTF-16."""
    xxe = (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE {root} [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
        f'<{root} xmlns="{namespace}">&secret;</{root}>'
    )
    laughs = (
        '<?xml version="1.0"?>\n'
        f"<!DOCTYPE {root} [\n"
        ' <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">\n'
        ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n'
        ' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">\n'
        ' <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">\n'
        "]>\n"
        f'<{root} xmlns="{namespace}">&d;</{root}>'
    )
    utf16 = xxe.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
    return [xxe.encode(), laughs.encode(), utf16.encode("utf-16")]


# A call to each of two governments, for the faults that hit one or every government.
ANAF_LIST = "/test/FCTEL/rest/listaMesajeFactura"
KSEF_KEYS = "/v2/security/public-key-certificates"


@asynccontextmanager
async def govsim_client(
    simulators: CountrySimulators | None = None,
    *,
    anaf: AnafSimulator | None = None,
    api_key: str | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the simulators' app, in process, around the simulators a test hands in (and
    `Authorization: Bearer <api_key>` on every call when given)."""
    app = create_app(GovsimSettings(), anaf=anaf, simulators=simulators)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://govsim", headers=headers
    ) as client:
        yield client


def answered(response: httpx.Response, status: int, field: str) -> Any:
    """A field of the JSON answer, once the answer has the expected status."""
    assert response.status_code == status, response.text
    return response.json()[field]


# Each hostile UBL invoice as a test case of its own (`payload`).
HOSTILE_UBL_INVOICES = pytest.mark.parametrize(
    "payload", hostile_xml("Invoice", UBL_INVOICE_NS), ids=HOSTILE_XML_IDS
)
