"""A client generated from the live /openapi.json by openapi-python-client, driven through
every kind of call a platform makes: each answer must parse into the generated models, with
nothing left as a raw dict and nothing lost (the model writes back the JSON it was read from)."""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import secrets
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import httpx
import pytest
import pytest_asyncio

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.webhook_dispatcher.webhooktools import Receiver, running_receiver

pytestmark = [pytest.mark.stack, pytest.mark.postgres]

PACKAGE = "clearway_generated_client"
# openapi-python-client reads only JSON, octet-stream and text answers: the binary documents
# are fetched as bytes by mapping their real media types to octet-stream (its documented knob).
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  application/xml: application/octet-stream
  application/pdf: application/octet-stream
  application/zip: application/octet-stream
"""


@pytest.fixture(scope="module")
def generated(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The generated package, imported: a client of the document the running API serves."""
    work = tmp_path_factory.mktemp("generated-client")
    document = work / "openapi.json"
    document.write_bytes(httpx.get(f"{stack.api_url}/openapi.json").content)
    (work / "config.yaml").write_text(GENERATOR_CONFIG)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "openapi_python_client",
            "generate",
            "--path",
            str(document),
            "--config",
            str(work / "config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(work / PACKAGE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # A warning means some operation or model was left out of the client.
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Warning" not in result.stdout + result.stderr, result.stdout + result.stderr
    sys.path.insert(0, str(work))
    try:
        package = importlib.import_module(PACKAGE)
        for module in ("models", "types"):
            importlib.import_module(f"{PACKAGE}.{module}")
        yield package
    finally:
        sys.path.remove(str(work))


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


def _api(generated: ModuleType, name: str) -> Any:
    """One generated operation module, e.g. `invoices.invoices_create`."""
    return importlib.import_module(f"{PACKAGE}.api.{name}")


def _no_raw_fallbacks(value: Any, where: str) -> None:
    """A union the generator could not parse is kept as the raw dict: none may be left."""
    if attrs.has(type(value)):
        for field in attrs.fields(type(value)):
            inner = getattr(value, field.name)
            if field.name == "additional_properties":
                # Free-form values (an event's metadata) are JSON by the schema: only models
                # among them are walked.
                for key, item in inner.items():
                    if attrs.has(type(item)):
                        _no_raw_fallbacks(item, f"{where}[{key}]")
            else:
                _no_raw_fallbacks(inner, f"{where}.{field.name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _no_raw_fallbacks(item, f"{where}[{index}]")
    else:
        assert not isinstance(value, dict), f"{where} was not parsed: {value}"
        assert not isinstance(value, float), f"{where} is a float: {value}"


def parsed(response: Any, model: type, status: int = 200) -> Any:
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), (type(response.parsed), response.content)
    _no_raw_fallbacks(response.parsed, model.__name__)
    assert response.parsed.to_dict() == json.loads(response.content)
    return response.parsed


async def _until(check: Any, what: str, timeout: float = 90) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result is not None:
            return result
        assert time.monotonic() < deadline, f"still waiting for {what}"
        await asyncio.sleep(0.3)


def test_generated_models_have_no_float(generated: ModuleType) -> None:
    models = Path(generated.__file__).parent / "models"
    floats = [path.name for path in models.glob("*.py") if "float" in path.read_text()]
    assert floats == []
    line = generated.models.Line.from_dict({"description": "x", "unitPrice": "0.10", "vatRate": 19})
    assert line.to_dict()["unitPrice"] == "0.10"


async def test_invoices_through_the_generated_client(  # noqa: PLR0915 - one platform's session
    generated: ModuleType, stack: Stack, seed_invoice: dict[str, Any]
) -> None:
    models = generated.models
    invoices = "invoices"
    async with generated.AuthenticatedClient(base_url=stack.api_url, token=stack.api_key) as api:
        # The seed's body verbatim (amounts as JSON numbers) is still accepted.
        seed = models.InvoiceRequest.from_dict(seed_invoice)
        validation = parsed(
            await _api(generated, f"{invoices}.invoices_validate").asyncio_detailed(
                client=api, body=seed
            ),
            models.ValidationResult,
        )
        assert validation.valid is True, validation.errors
        create = _api(generated, f"{invoices}.invoices_create")
        first = parsed(
            await create.asyncio_detailed(client=api, body=seed), models.DataInvoice, 201
        ).data
        assert (first.net_amount, first.vat_amount, first.gross_amount) == (
            "5200.00",
            "988.00",
            "6188.00",
        )

        # Two more, tagged, with decimal strings as the document types them.
        run = secrets.token_hex(4)
        tagged = []
        for number, price in enumerate(("0.10", "1234.56")):
            body = copy.deepcopy(seed_invoice)
            body["externalId"] = f"generated-{run}-{number}"
            body["lines"] = [
                {"description": "Metered", "quantity": "3", "unitPrice": price, "vatRate": "19"}
            ]
            body["metadata"] = {"run": run}
            request = models.InvoiceRequest.from_dict(body)
            key = f"generated-{run}-{number}"
            answer = parsed(
                await create.asyncio_detailed(client=api, body=request, x_idempotency_key=key),
                models.DataInvoice,
                201,
            )
            tagged.append(answer.data.id)
        assert answer.data.net_amount == "3703.68"
        replay = await create.asyncio_detailed(client=api, body=request, x_idempotency_key=key)
        assert parsed(replay, models.DataInvoice, 201).data.id == tagged[-1]
        assert replay.headers["Idempotent-Replayed"] == "true"

        got = parsed(
            await _api(generated, f"{invoices}.invoices_get").asyncio_detailed(
                tagged[0], client=api
            ),
            models.DataInvoice,
        ).data
        assert (got.net_amount, got.metadata.additional_properties) == ("0.30", {"run": run})

        # The metadata filter, page by page with the cursor. openapi-python-client sends an
        # object query parameter form-style whatever its `style`, so the deepObject names are
        # given as the keys (docs/api.md says so).
        listing = _api(generated, f"{invoices}.invoices_list")
        only_this_run = models.InvoicesListMetadata.from_dict({"metadata[run]": run})
        page = parsed(
            await listing.asyncio_detailed(client=api, metadata=only_this_run, limit=1),
            models.PageInvoice,
        )
        assert page.has_more is True
        seen = [invoice.id for invoice in page.data]
        page = parsed(
            await listing.asyncio_detailed(
                client=api, metadata=only_this_run, limit=1, cursor=page.next_cursor
            ),
            models.PageInvoice,
        )
        seen += [invoice.id for invoice in page.data]
        assert page.has_more is False
        assert seen == tagged[::-1]  # newest first

        events = parsed(
            await _api(generated, f"{invoices}.invoices_list_events").asyncio_detailed(
                first.id, client=api
            ),
            models.DatalistEvent,
        ).data
        assert events[0].event == "invoice.created"

        get = _api(generated, f"{invoices}.invoices_get")

        async def accepted() -> Any:
            invoice = parsed(await get.asyncio_detailed(first.id, client=api), models.DataInvoice)
            assert invoice.data.status not in {"rejected", "error"}, invoice.data
            return invoice.data if invoice.data.status == "accepted" else None

        await _until(accepted, f"{first.id} accepted")
        document = await _api(generated, f"{invoices}.invoices_get_document").asyncio_detailed(
            first.id, client=api
        )
        assert document.status_code == 200
        assert isinstance(document.parsed, generated.types.File)
        assert document.parsed.payload.read().startswith(b"<?xml")
        assert document.headers["X-Clearway-Format"] == "UBL-CIUS-RO"
        assert document.headers["Content-Type"].startswith("application/xml")
        receipt = await _api(generated, f"{invoices}.invoices_get_receipt").asyncio_detailed(
            first.id, client=api
        )
        assert receipt.status_code == 200
        assert isinstance(receipt.parsed, generated.types.File)
        assert receipt.parsed.payload.read()[:2] == b"PK"  # ANAF's ZIP
        assert receipt.headers["Content-Type"] == "application/zip"

        missing = parsed(
            await get.asyncio_detailed("inv_000000000000000000000000", client=api),
            models.ErrorEnvelope,
            404,
        )
        assert missing.error.param == "/id"


async def test_companies_and_connections_through_the_generated_client(
    generated: ModuleType, stack: Stack
) -> None:
    models = generated.models
    async with generated.AuthenticatedClient(base_url=stack.api_url, token=stack.api_key) as api:
        companies = parsed(
            await _api(generated, "companies.companies_list").asyncio_detailed(client=api),
            models.DatalistCompany,
        ).data
        [company] = [c for c in companies if c.vat_number == "RO12345678" and c.country == "RO"]
        parsed(
            await _api(generated, "companies.companies_get").asyncio_detailed(
                company.id, client=api
            ),
            models.DataCompany,
        )
        # The company's RO connection is active: POST answers it as it is (200), typed.
        existing = parsed(
            await _api(generated, "connections.connections_create").asyncio_detailed(
                client=api,
                body=models.ConnectionRequest(
                    company_id=company.id, country_code=models.ConnectionRequestCountrycode.RO
                ),
            ),
            models.DataConnection,
        ).data
        assert (existing.company_id, existing.status) == (company.id, "active")
        listed = parsed(
            await _api(generated, "connections.connections_list").asyncio_detailed(client=api),
            models.DatalistConnection,
        ).data
        assert existing.id in {connection.id for connection in listed}
        parsed(
            await _api(generated, "connections.connections_get").asyncio_detailed(
                existing.id, client=api
            ),
            models.DataConnection,
        )


async def test_webhooks_through_the_generated_client(
    generated: ModuleType, stack: Stack, make_account: MakeAccount, receiver: Receiver
) -> None:
    models = generated.models
    _, client = await make_account()
    token = client.headers["Authorization"].removeprefix("Bearer ")
    webhooks = "webhooks.webhook_endpoints_"
    async with generated.AuthenticatedClient(base_url=stack.api_url, token=token) as api:
        created = parsed(
            await _api(generated, f"{webhooks}create").asyncio_detailed(
                client=api,
                body=models.EndpointCreate(
                    url=receiver.route(),
                    enabled_events=[models.EndpointCreateEnabledEventsItem.VALUE_0],
                ),
            ),
            models.DataWebhookEndpointWithSecret,
            201,
        ).data
        assert created.secret.startswith("whsec_")
        listed = parsed(
            await _api(generated, f"{webhooks}list").asyncio_detailed(client=api),
            models.DatalistWebhookEndpoint,
        ).data
        assert [endpoint.id for endpoint in listed] == [created.id]
        parsed(
            await _api(generated, f"{webhooks}get").asyncio_detailed(created.id, client=api),
            models.DataWebhookEndpoint,
        )
        updated = parsed(
            await _api(generated, f"{webhooks}update").asyncio_detailed(
                created.id, client=api, body=models.EndpointUpdate(description="ERP")
            ),
            models.DataWebhookEndpoint,
        ).data
        assert updated.description == "ERP"
        sent = parsed(
            await _api(generated, f"{webhooks}send_test").asyncio_detailed(created.id, client=api),
            models.DataWebhookDelivery,
            202,
        ).data
        deliveries = _api(generated, f"{webhooks}list_deliveries")

        async def delivered() -> Any:
            page = parsed(
                await deliveries.asyncio_detailed(created.id, client=api),
                models.PageWebhookDelivery,
            )
            [delivery] = page.data
            return delivery if delivery.status == "delivered" else None

        delivery = await _until(delivered, f"delivery {sent.id}")
        assert delivery.attempts[0].http_status == 200
        parsed(
            await _api(generated, f"{webhooks}retry_delivery").asyncio_detailed(
                created.id, delivery.id, client=api
            ),
            models.DataWebhookDelivery,
            202,
        )
        rotated = parsed(
            await _api(generated, f"{webhooks}rotate_secret").asyncio_detailed(
                created.id, client=api, body=models.SecretRotation(overlap_seconds=60)
            ),
            models.DataRotatedEndpoint,
        ).data
        assert rotated.secret != created.secret
        deleted = parsed(
            await _api(generated, f"{webhooks}delete").asyncio_detailed(created.id, client=api),
            models.DataDeleted,
        ).data
        assert deleted.deleted is True
