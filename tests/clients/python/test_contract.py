"""clients/python's models agree with the OpenAPI document (tests/services/intake/openapi.json,
the one the API serves): the same fields, the same required ones, the same enums, Decimal where
the document says decimal; and real answers of the API hold no field a model does not know."""

from __future__ import annotations

import json
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from clearway_client import Clearway, models
from clearway_client.models import ApiModel, Page
from pydantic import BaseModel

from services.intake.examples import SEED_INVOICE_REQUEST
from tests.clients.python.conftest import seed_invoice_body
from tests.docs.test_docs import PAGES, _blocks, _invoice_bodies

DOCUMENT = json.loads(
    (Path(__file__).parents[2] / "services" / "intake" / "openapi.json").read_text()
)
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
# Every object of the document the client reads or writes, by the document's name.
MODELS: dict[str, type[BaseModel]] = {
    name: getattr(models, name)
    for name in (
        "Address",
        "Company",
        "Connection",
        "NetworkCredentials",
        "SetupInstructions",
        "Invoice",
        "Event",
        "ValidationFinding",
        "ValidationResult",
        "Deleted",
        "ReceivedInvoice",
        "ReceivedResponse",
        "WebhookEndpoint",
        "WebhookEndpointWithSecret",
        "RotatedEndpoint",
        "WebhookDelivery",
        "DeliveryAttempt",
        "ErrorBody",
        "ErrorItem",
        *("InvoiceRequest", "Party", "Line", "PaymentMeans", "Attachment", "PrecedingInvoice"),
    )
}
# What a request must give is exactly what the document requires.
REQUESTS = {name for name, model in MODELS.items() if issubclass(model, models.RequestModel)}
# The document's enums the client names as Literal types.
ENUMS = {
    "Status": models.InvoiceStatus,
    "InvoiceType": models.InvoiceType,
    "VatCategory": models.VatCategory,
    "Decision": models.Decision,
    "ResponseStatus": models.ResponseStatus,
    "SandboxScenario": models.SandboxScenario,
}


def _wire_fields(model: type[BaseModel]) -> dict[str, Any]:
    return {field.alias or name: field for name, field in model.model_fields.items()}


def _schema_of(prop: dict[str, Any]) -> dict[str, Any]:
    """A property's schema without the `anyOf [X, null]` around it."""
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    return options[0] if len(options) == 1 else prop


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return SCHEMAS[ref.rsplit("/", 1)[1]] if ref else schema


def _literal_values(annotation: Any) -> set[str]:
    found: set[str] = set()
    for arg in typing.get_args(annotation) or ():
        found |= _literal_values(arg)
    if typing.get_origin(annotation) is typing.Literal:
        found |= set(typing.get_args(annotation))
    return found


@pytest.mark.parametrize("name", sorted(MODELS))
def test_fields_and_required_fields_are_the_documents(name: str) -> None:
    schema, fields = SCHEMAS[name], _wire_fields(MODELS[name])
    assert set(fields) == set(schema["properties"]), name
    documented = set(schema.get("required", []))
    required = {wire for wire, field in fields.items() if field.is_required()}
    if name in {
        "InvoiceRequest",
        "Party",
        "Line",
        "PaymentMeans",
        "Attachment",
        "PrecedingInvoice",
    }:
        assert required == documented, name  # what a request must give
    else:
        assert required <= documented, name  # an answer: the rest may be absent in old answers
        assert documented - required <= {
            w for w, f in fields.items() if f.default is None and not f.is_required()
        }


def _unannotated(annotation: Any) -> set[Any]:
    """The types an annotation allows, Annotated's metadata (models.Money's rules) set aside."""
    options = typing.get_args(annotation) if typing.get_origin(annotation) else (annotation,)
    if typing.get_origin(annotation) is typing.Annotated:
        options = (options[0],)
    return {
        typing.get_args(o)[0] if typing.get_origin(o) is typing.Annotated else o for o in options
    }


@pytest.mark.parametrize("name", sorted(MODELS))
def test_decimals_and_enums_are_the_documents(name: str) -> None:
    schema, fields = SCHEMAS[name], _wire_fields(MODELS[name])
    for wire, prop in schema["properties"].items():
        target = _resolve(_schema_of(prop))
        annotation = fields[wire].annotation
        if target.get("format") == "decimal":
            assert Decimal in _unannotated(annotation), (name, wire)
        enum = target.get("enum") or _resolve(target.get("items", {})).get("enum")
        if enum and _literal_values(annotation):
            assert _literal_values(annotation) == set(enum), (name, wire)


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_named_enums_are_the_documents(name: str) -> None:
    assert set(typing.get_args(ENUMS[name])) == set(SCHEMAS[name]["enum"])


def test_the_documents_examples_and_the_manuals_invoices_fit_the_request_model() -> None:
    models.InvoiceRequest.model_validate(SEED_INVOICE_REQUEST)
    bodies = _invoice_bodies()
    assert len(bodies) >= 6
    for page, body in bodies:
        request = models.InvoiceRequest.model_validate(body)
        assert request.to_json()["country"] == body["country"], page


def _unknown(value: Any, where: str = "") -> list[str]:
    """Fields of an answer a model kept as extra: what the client does not know about."""
    if isinstance(value, list):
        return [u for n, item in enumerate(value) for u in _unknown(item, f"{where}/{n}")]
    if not isinstance(value, BaseModel):
        return []
    found = [f"{where}/{key}" for key in value.model_extra or {}]
    for name in type(value).model_fields:
        found += _unknown(getattr(value, name), f"{where}/{name}")
    return found


@pytest.mark.kafka
@pytest.mark.postgres
def test_real_answers_hold_no_field_the_models_do_not_know(
    client: Clearway, new_account: Clearway
) -> None:
    invoice = client.invoices.create(seed_invoice_body(metadata={"k": "v"}))
    endpoint = new_account.webhook_endpoints.create("https://erp.example.com/h", ["*"])
    new_account.webhook_endpoints.send_test(endpoint.id)
    company = new_account.companies.create("Atelier SAS", "FR40303265045", "FR")
    answers: list[ApiModel | list[Any] | Page[Any]] = [
        invoice,
        client.invoices.get(invoice.id, expand=["company", "connection"]),
        client.invoices.list_page(limit=5, expand=["company"]),
        client.invoices.events(invoice.id),
        client.invoices.validate(seed_invoice_body(lines=[])),
        client.companies.list(),
        client.connections.list(),
        new_account.connections.create(company.id, "FR"),
        endpoint,
        new_account.webhook_endpoints.rotate_secret(endpoint.id),
        new_account.webhook_endpoints.list(),
        list(new_account.webhook_endpoints.deliveries(endpoint.id)),
        new_account.companies.delete(company.id),
    ]
    for answer in answers:
        assert _unknown(answer) == [], answer


def test_the_manuals_error_and_event_examples_fit_the_models() -> None:
    """The JSON the pages show of answers the client reads: the error envelope (docs/api.md)
    and a webhook's body (docs/webhooks.md)."""
    errors, events = [], []
    for page in PAGES:
        for lang, text in _blocks(page):
            value = json.loads(text) if lang == "json" else None
            if isinstance(value, dict) and set(value) == {"error"}:
                errors.append(models.ErrorBody.model_validate(value["error"]))
            elif isinstance(value, dict) and str(value.get("id", "")).startswith("evt_"):
                events.append(models.WebhookEvent.model_validate(value))
    assert errors
    assert all(_unknown(error) == [] for error in errors)
    assert events
    assert all(_unknown(event) == [] for event in events)
