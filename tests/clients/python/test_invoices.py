"""clients/python: invoices, paging, errors and retries against the API-only stack."""

from __future__ import annotations

import secrets
import threading
import time
from decimal import Decimal

import httpx
import pytest
from clearway_client import (
    APIConnectionError,
    AsyncClearway,
    AuthenticationError,
    Clearway,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RetryPolicy,
    UsageLimitError,
    ValidationError,
    WaitTimeoutError,
)
from clearway_client.models import Invoice, InvoiceRequest, Line, Party

from services.stack.infra import free_port
from services.stack.stack import Stack
from tests.clients.python.conftest import key_of, seed_invoice_body
from tests.conftest import MakeAccount

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def test_create_get_events_validate_and_the_documents_not_made_yet(client: Clearway) -> None:
    body = seed_invoice_body(metadata={"orderId": "42"})
    created = client.invoices.create(body)
    assert isinstance(created, Invoice)
    assert created.status == "created"
    assert created.replayed is False
    assert created.external_id == body["externalId"]
    assert created.gross_amount == Decimal("6188.00")
    assert isinstance(created.net_amount, Decimal)
    assert created.metadata == {"orderId": "42"}

    fetched = client.invoices.get(created.id, expand=["company", "connection"])
    assert fetched.id == created.id
    assert fetched.company is not None
    assert fetched.connection is not None
    assert fetched.connection.country_code == "RO"

    (event,) = client.invoices.events(created.id)
    assert event.event == "invoice.created"

    result = client.invoices.validate(body)
    assert result.valid is True
    assert result.errors == []

    # No worker runs on the API-only stack: nothing was converted or filed yet.
    with pytest.raises(NotFoundError):
        client.invoices.document(created.id)
    with pytest.raises(NotFoundError):
        client.invoices.receipt(created.id)


def test_a_typed_request_model_is_sent_as_the_api_names_its_fields(client: Clearway) -> None:
    body = seed_invoice_body()
    request = InvoiceRequest.model_validate(body)
    assert request.lines[0].unit_price == Decimal(5000)
    created = client.invoices.create(request)
    assert created.external_id == body["externalId"]
    assert created.net_amount == Decimal("5200.00")

    # A field the API does not have is the caller's mistake, said before anything is sent.
    with pytest.raises(ValueError, match="unitPrize"):
        Line.model_validate({"description": "x", "unitPrize": 1, "vatRate": 19})
    party = Party(vat_number="RO1", name="A")
    assert party.to_json() == {"vatNumber": "RO1", "name": "A"}


def test_a_float_amount_is_refused_and_nothing_is_sent(client: Clearway) -> None:
    guidance = "pass amounts as Decimal or str, not float: floats cannot hold"
    # In a model: refused as it is built (a float already lost …4567's last digit).
    with pytest.raises(ValueError, match=guidance):
        Line(description="x", unit_price=1234567890123.4567, vat_rate=Decimal(19))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=guidance):
        Line.model_validate({"description": "x", "unitPrice": "1", "vatRate": 19.0})
    exact = Line(description="x", unit_price="1234567890123.4567", vat_rate=19)  # type: ignore[arg-type]
    assert exact.to_json()["unitPrice"] == "1234567890123.4567"

    # In a dict body: refused where it is, before the request is made.
    body = seed_invoice_body()
    body["lines"][1] = {**body["lines"][1], "unitPrice": 200.5}
    with pytest.raises(TypeError, match=f"/lines/1/unitPrice: {guidance}"):
        client.invoices.create(body)
    with pytest.raises(TypeError, match=guidance):
        client.invoices.validate(body)
    assert list(client.invoices.list(search=body["externalId"])) == []


def test_list_pages_through_every_invoice_while_more_are_created(client: Clearway) -> None:
    run = secrets.token_hex(4)
    first = [client.invoices.create(seed_invoice_body(metadata={"run": run})) for _ in range(5)]
    seen: list[str] = []
    for invoice in client.invoices.list(metadata={"run": run}, limit=2):
        seen.append(invoice.id)
        if len(seen) == 1:  # created after the listing began: newer than its cursor
            client.invoices.create(seed_invoice_body(metadata={"run": run}))
    assert seen == [invoice.id for invoice in reversed(first)]  # newest first, none twice

    page = client.invoices.list_page(metadata={"run": run}, limit=2)
    assert len(page.data) == 2
    assert page.has_more is True
    assert page.next_cursor is not None
    assert [i.id for i in client.invoices.list(status="created", country="RO", limit=100)][:1]


async def test_the_async_client_does_the_same(aclient: AsyncClearway) -> None:
    run = secrets.token_hex(4)
    made = [
        await aclient.invoices.create(seed_invoice_body(metadata={"run": run})) for _ in range(3)
    ]
    listed = [invoice.id async for invoice in aclient.invoices.list(metadata={"run": run}, limit=2)]
    assert listed == [invoice.id for invoice in reversed(made)]
    assert (await aclient.invoices.get(made[0].id)).id == made[0].id
    assert [e.event for e in await aclient.invoices.events(made[0].id)] == ["invoice.created"]
    assert (await aclient.invoices.validate(seed_invoice_body())).valid
    # Already there: returns at once; never there on a stack with no worker: times out.
    assert (await aclient.invoices.wait(made[0].id, until={"created"})).status == "created"
    with pytest.raises(WaitTimeoutError, match="still created") as waited:
        await aclient.invoices.wait(made[0].id, until={"accepted"}, timeout=0.5, interval=0.2)
    assert isinstance(waited.value.last, Invoice)
    with pytest.raises(NotFoundError):
        await aclient.invoices.document(made[0].id)
    with pytest.raises(NotFoundError):
        await aclient.invoices.receipt(made[0].id)


def test_wait_times_out_with_the_invoice_as_it_was(client: Clearway) -> None:
    created = client.invoices.create(seed_invoice_body())
    started = time.monotonic()
    with pytest.raises(WaitTimeoutError) as waited:
        client.invoices.wait(created.id, timeout=0.6, interval=0.2)
    assert 0.5 < time.monotonic() - started < 5
    assert isinstance(waited.value.last, Invoice)
    assert waited.value.last.status == "created"


# Errors: each type from a real answer ------------------------------------------------------------


def test_a_validation_error_names_every_field(client: Clearway) -> None:
    body = seed_invoice_body()
    body["lines"][1]["unitPrice"] = "not a number"
    del body["customer"]["name"]
    with pytest.raises(ValidationError) as refused:
        client.invoices.create(body)
    error = refused.value
    assert error.status == 400
    assert error.type == "validation_error"
    assert error.param in {"/lines/1/unitPrice", "/customer/name"}
    assert {e.param for e in error.errors} >= {"/lines/1/unitPrice", "/customer/name"}
    assert all(e.message and e.code for e in error.errors)


def test_authentication_not_found_conflict_and_invalid_request(
    client: Clearway, api_stack: Stack
) -> None:
    with (
        Clearway("sk_test_nobody", api_stack.api_url) as stranger,
        pytest.raises(AuthenticationError) as unknown,
    ):
        stranger.invoices.get("inv_x")
    assert unknown.value.status == 401

    with pytest.raises(NotFoundError) as missing:
        client.invoices.get("inv_doesnotexist")
    assert missing.value.param == "/id"

    key = f"client-conflict-{secrets.token_hex(4)}"
    client.invoices.create(seed_invoice_body(), idempotency_key=key)
    with pytest.raises(ConflictError) as conflict:
        client.invoices.create(seed_invoice_body(), idempotency_key=key)
    assert conflict.value.status == 409

    with pytest.raises(InvalidRequestError) as method:
        client.request("PUT", "/v1/invoices")
    assert method.value.status == 405


def test_usage_limit(new_account: Clearway) -> None:
    """At most 16 webhook endpoints per account: the 17th is a 403 usage_limit_exceeded."""
    for n in range(16):
        new_account.webhook_endpoints.create(f"https://erp.example.com/hook/{n}", ["*"])
    with pytest.raises(UsageLimitError) as limited:
        new_account.webhook_endpoints.create("https://erp.example.com/hook/17", ["*"])
    assert limited.value.status == 403
    assert limited.value.type == "usage_limit_exceeded"


async def test_rate_limit_raises_with_retry_after_and_is_retried_after_it(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    _, http = await make_api_account(rate_limit_per_second=Decimal(2))
    with Clearway(key_of(http), api_stack.api_url, max_retries=0) as impatient:
        with pytest.raises(RateLimitError) as limited:  # noqa: PT012 - until the burst is spent
            for _ in range(50):
                impatient.companies.list()
        assert limited.value.retry_after is not None
        assert limited.value.retry_after > 0
    # The default client waits as told and gets its answers.
    with Clearway(key_of(http), api_stack.api_url) as patient:
        started = time.monotonic()
        for _ in range(8):
            assert patient.companies.list() == []
        assert time.monotonic() - started > 0.5  # it did wait for the limit


# Retries ---------------------------------------------------------------------------------------


class LoseFirstAnswer(httpx.HTTPTransport):
    """The network losing the answer to the first POST /v1/invoices after the API handled it:
    the request reaches the server, its answer is dropped on the way back."""

    def __init__(self) -> None:
        super().__init__()
        self.keys: list[str | None] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.path == "/v1/invoices":
            with self._lock:
                self.keys.append(request.headers.get("X-Idempotency-Key"))
                lose = len(self.keys) == 1
            if lose:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset by peer", request=request)
        return response


def _filed(client: Clearway, external_id: str) -> list[str]:
    return [i.id for i in client.invoices.list(search=external_id)]


def test_a_retried_post_creates_exactly_one_invoice(api_stack: Stack, client: Clearway) -> None:
    transport = LoseFirstAnswer()
    body = seed_invoice_body()
    with Clearway(
        api_stack.api_key, api_stack.api_url, http_client=httpx.Client(transport=transport)
    ) as lossy:
        invoice = lossy.invoices.create(body)
    assert len(transport.keys) == 2
    assert transport.keys[0] is not None
    assert transport.keys[0] == transport.keys[1]  # made once for the call, sent on each try
    assert _filed(client, body["externalId"]) == [invoice.id]
    assert invoice.replayed is True  # the answer the first attempt's lost answer had been

    # With no retries left the caller hears of the loss, and may send again with the key it
    # gave: still one invoice.
    transport = LoseFirstAnswer()
    body = seed_invoice_body()
    key = f"client-retry-{secrets.token_hex(4)}"
    with Clearway(
        api_stack.api_key,
        api_stack.api_url,
        max_retries=0,
        http_client=httpx.Client(transport=transport),
    ) as lossy:
        with pytest.raises(APIConnectionError):
            lossy.invoices.create(body, idempotency_key=key)
        again = lossy.invoices.create(body, idempotency_key=key)
    assert _filed(client, body["externalId"]) == [again.id]


def test_an_unreachable_api_is_a_connection_error_after_the_retries() -> None:
    attempts: list[httpx.Request] = []
    nobody = f"http://127.0.0.1:{free_port()}"  # a port nothing listens on
    with (
        Clearway(
            "sk_test_x",
            nobody,
            retry=RetryPolicy(max_retries=2, backoff_base=0.01),
            http_client=httpx.Client(event_hooks={"request": [attempts.append]}),
        ) as clearway,
        pytest.raises(APIConnectionError, match="ConnectError"),
    ):
        clearway.companies.list()
    assert len(attempts) == 3
