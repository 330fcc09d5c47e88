"""The OpenAPI document is the contract: schemathesis generates requests from it against the
running API and checks that nothing answers 5xx and every answer fits the document.

Every answer here is intake's own, so the API-only stack serves (api_stack: intake, the
simulators and the broker as the whole stack runs them, without the workers behind intake).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis.specs.openapi.checks import positive_data_acceptance

from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.services.connections_support import COMPANIES, new_company, start_connection

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _fuzz(operation: Any, headers: dict[str, str]) -> None:
    # A cursor is opaque: any string fits its schema, but only ours are accepted (400).
    opaque = any(parameter.name == "cursor" for parameter in operation.query)
    excluded = [positive_data_acceptance] if opaque else []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        # A fixed seed: the same cases on every run, so a red CI always means a regression.
        # A finding of a random run is kept by adding its case as an explicit test elsewhere.
        derandomize=True,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def call(case: Any) -> None:
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    call()


async def test_no_5xx_and_every_answer_fits_the_document(
    api_stack: Stack, make_api_account: MakeAccount
) -> None:
    # An account of its own: the companies and invoices it makes up stay out of other tests.
    # It has a company with a connection in every country, so that a schema-valid invoice is
    # one Clearway could file (else it is refused at POST time, naming /companyId).
    _, client = await make_api_account()
    for country in COMPANIES:
        await start_connection(client, await new_company(client, country), country)
    headers = {"Authorization": client.headers["Authorization"]}
    schema = schemathesis.openapi.from_url(f"{api_stack.api_url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        await asyncio.to_thread(_fuzz, operation, headers)


def test_document_has_the_seed_example_and_the_error_envelope(api_stack: Stack) -> None:
    document = httpx.get(f"{api_stack.api_url}/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    create = document["paths"]["/v1/invoices"]["post"]
    example = create["requestBody"]["content"]["application/json"]["example"]
    assert example["supplier"]["name"] == "TechVision SRL"
    assert "422" not in create["responses"]
    assert set(create["responses"]) >= {"201", "400", "401", "403", "409", "429"}
    assert httpx.get(f"{api_stack.api_url}/docs").status_code == 200


def _live_document(stack: Stack) -> dict[str, Any]:
    document: dict[str, Any] = httpx.get(f"{stack.api_url}/openapi.json").json()
    return document


def test_document_is_a_valid_openapi_description(api_stack: Stack) -> None:
    validate(_live_document(api_stack))  # raises on any violation of the OpenAPI 3.1 schema


def _walk(value: Any, where: str = "#") -> Any:
    """Every (pointer, schema-ish dict) in the document."""
    if isinstance(value, dict):
        yield where, value
        for key, inner in value.items():
            yield from _walk(inner, f"{where}/{key}")
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _walk(inner, f"{where}/{index}")


def test_money_is_a_decimal_string_everywhere(api_stack: Stack) -> None:
    document = _live_document(api_stack)
    schemas = document["components"]["schemas"]
    numbers = [where for where, node in _walk(document) if node.get("type") == "number"]
    assert numbers == []  # a generated client would read or write any of them as a float
    money = {
        "Invoice": ("netAmount", "vatAmount", "grossAmount"),
        "Line": ("quantity", "unitPrice", "discount", "vatRate"),
    }
    for model, fields in money.items():
        for field in fields:
            schema = schemas[model]["properties"][field]
            decimal = next(s for s in [schema, *schema.get("anyOf", [])] if "format" in s)
            assert (decimal["type"], decimal["format"]) == ("string", "decimal"), (model, field)
            assert re.fullmatch(decimal["pattern"], "19.00"), (model, field)
            assert not re.fullmatch(decimal["pattern"], "19,00"), (model, field)
    assert not re.fullmatch(schemas["Invoice"]["properties"]["netAmount"]["pattern"], "19")


def test_operations_are_named_tagged_and_secured_by_a_bearer_scheme(api_stack: Stack) -> None:
    document = _live_document(api_stack)
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["bearerAuth"]["description"],
        }
    }
    operations = {
        (method, path): operation
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }
    ids = [operation["operationId"] for operation in operations.values()]
    assert len(set(ids)) == len(ids)
    assert {"invoices_create", "invoices_list", "invoices_get", "invoices_get_document"} <= set(ids)
    tags = {tag["name"] for tag in document["tags"]}
    for (method, path), operation in operations.items():
        assert re.fullmatch(r"[a-z]+(_[a-z]+)+", operation["operationId"]), (method, path)
        assert operation["operationId"].startswith(operation["tags"][0].rstrip("s")), (method, path)
        assert set(operation["tags"]) <= tags
        assert all(p["name"].lower() != "authorization" for p in operation.get("parameters", []))
        expected = [] if path == "/v1/callbacks/anaf" else [{"bearerAuth": []}]
        assert operation.get("security", []) == expected, (method, path)


def test_binary_answers_filters_and_headers_are_described(api_stack: Stack) -> None:
    paths = _live_document(api_stack)["paths"]
    binary = {"type": "string", "format": "binary"}
    document = paths["/v1/invoices/{invoice_id}/document"]["get"]["responses"]["200"]
    assert document["content"] == {
        "application/xml": {"schema": binary},
        "application/pdf": {"schema": binary},
    }
    assert "UBL-CIUS-RO" in document["headers"]["X-Clearway-Format"]["schema"]["enum"]
    receipt = paths["/v1/invoices/{invoice_id}/receipt"]["get"]["responses"]["200"]
    assert set(receipt["content"]) == {"application/zip", "application/xml", "application/json"}
    assert all(media["schema"] == binary for media in receipt["content"].values())

    connection = {"$ref": "#/components/schemas/Data_Connection_"}
    created = paths["/v1/connections"]["post"]["responses"]
    for status in ("200", "201"):
        assert created[status]["content"]["application/json"]["schema"] == connection

    listing = paths["/v1/invoices"]["get"]
    [metadata] = [p for p in listing["parameters"] if p["name"] == "metadata"]
    assert (metadata["in"], metadata["style"], metadata["explode"]) == ("query", "deepObject", True)
    assert metadata["schema"]["additionalProperties"]["type"] == "string"

    create = paths["/v1/invoices"]["post"]["responses"]
    assert "Idempotent-Replayed" in create["201"]["headers"]
    for item in paths.values():
        for operation in item.values():
            for status in ("429", "503"):
                if status in operation["responses"]:
                    assert "Retry-After" in operation["responses"][status]["headers"]
    assert "503" in create


def test_docs_work_offline(api_stack: Stack) -> None:
    page = httpx.get(f"{api_stack.api_url}/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", page.text)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset  # this server's own path
        assert not asset.startswith("//"), asset  # not another host
        answer = httpx.get(f"{api_stack.api_url}{asset}")
        assert answer.status_code == 200, asset
        assert answer.content, asset
    assert re.search(r"https?://", page.text) is None  # nothing else is fetched from elsewhere
    assert httpx.get(f"{api_stack.api_url}/redoc").status_code == 404  # it would need a CDN
