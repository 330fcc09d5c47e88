"""The OpenAPI document as generated clients read it, and `/docs` served without a CDN.

FastAPI writes most of the document from the routes; this adds what it cannot know: the
request bodies our models parse from the raw JSON, readable operationIds, the `metadata[key]`
filter, the headers the API answers with, and no 422 answers (this API answers 400).
"""

from __future__ import annotations

from typing import Any

from clearway.domain.company import CompanyRequest
from clearway.domain.invoice import NO_NUL, InvoiceRequest
from clearway.domain.responses import BuyerResponse
from clearway.formats import FORMATS
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

DOCS_ASSETS = "/docs/assets"

TAGS = [
    {"name": "invoices", "description": "Invoices: create, validate, follow, fetch documents"},
    {
        "name": "received_invoices",
        "description": "Purchase invoices governments delivered to the account's companies",
    },
    {"name": "companies", "description": "The companies an account files invoices for"},
    {"name": "connections", "description": "A company's link to a country's government system"},
    {"name": "webhooks", "description": "Where events are sent, and every delivery made"},
]

# (method, path) → operationId: `<resource>_<verb>`, what a generated client names its calls.
OPERATION_IDS = {
    ("post", "/v1/invoices"): "invoices_create",
    ("get", "/v1/invoices"): "invoices_list",
    ("post", "/v1/invoices/validate"): "invoices_validate",
    ("get", "/v1/invoices/{invoice_id}"): "invoices_get",
    ("get", "/v1/invoices/{invoice_id}/events"): "invoices_list_events",
    ("get", "/v1/invoices/{invoice_id}/document"): "invoices_get_document",
    ("get", "/v1/invoices/{invoice_id}/receipt"): "invoices_get_receipt",
    ("get", "/v1/received-invoices"): "received_invoices_list",
    ("get", "/v1/received-invoices/{received_id}"): "received_invoices_get",
    ("patch", "/v1/received-invoices/{received_id}"): "received_invoices_update",
    ("get", "/v1/received-invoices/{received_id}/events"): "received_invoices_list_events",
    ("get", "/v1/received-invoices/{received_id}/document"): "received_invoices_get_document",
    ("get", "/v1/received-invoices/{received_id}/evidence"): "received_invoices_get_evidence",
    ("post", "/v1/received-invoices/{received_id}/response"): "received_invoices_respond",
    ("post", "/v1/companies"): "companies_create",
    ("get", "/v1/companies"): "companies_list",
    ("get", "/v1/companies/{company_id}"): "companies_get",
    ("delete", "/v1/companies/{company_id}"): "companies_delete",
    ("post", "/v1/connections"): "connections_create",
    ("get", "/v1/connections"): "connections_list",
    ("get", "/v1/connections/{connection_id}"): "connections_get",
    ("delete", "/v1/connections/{connection_id}"): "connections_delete",
    ("post", "/v1/connections/{connection_id}/certificate"): "connections_upload_certificate",
    ("post", "/v1/connections/{connection_id}/ksef-token"): "connections_upload_ksef_token",
    ("get", "/v1/callbacks/anaf"): "connections_anaf_callback",
    ("post", "/v1/webhook-endpoints"): "webhook_endpoints_create",
    ("get", "/v1/webhook-endpoints"): "webhook_endpoints_list",
    ("get", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoints_get",
    ("patch", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoints_update",
    ("delete", "/v1/webhook-endpoints/{endpoint_id}"): "webhook_endpoints_delete",
    (
        "post",
        "/v1/webhook-endpoints/{endpoint_id}/rotate-secret",
    ): "webhook_endpoints_rotate_secret",
    ("get", "/v1/webhook-endpoints/{endpoint_id}/deliveries"): "webhook_endpoints_list_deliveries",
    (
        "post",
        "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/retry",
    ): "webhook_endpoints_retry_delivery",
    ("post", "/v1/webhook-endpoints/{endpoint_id}/test"): "webhook_endpoints_send_test",
}

RETRY_AFTER = {
    "description": "Seconds to wait before trying again",
    "schema": {"type": "integer", "minimum": 0},
}
RATE_LIMIT_HEADERS = {
    "RateLimit-Limit": {
        "description": "Requests this API key may make at once (its burst)",
        "schema": {"type": "integer", "minimum": 1},
    },
    "RateLimit-Remaining": {
        "description": "Requests left now; they refill at the key's rate per second",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RateLimit-Reset": {
        "description": "Seconds until the key's whole burst is available again",
        "schema": {"type": "integer", "minimum": 0},
    },
}
IDEMPOTENT_REPLAYED = {
    "description": "`true` when this answer replays the first answer given for the request's "
    "X-Idempotency-Key (nothing new was created); absent otherwise",
    "schema": {"type": "string", "enum": ["true"]},
}
UNAVAILABLE = {
    "description": "Unavailable for now (a government system or the database): nothing was "
    "changed; try again after Retry-After",
    "headers": {"Retry-After": RETRY_AFTER},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}}},
}
METADATA_FILTER = {
    "name": "metadata",
    "in": "query",
    "required": False,
    "style": "deepObject",
    "explode": True,
    "description": "`metadata[key]=value`: only invoices whose metadata holds every key given, "
    "with that value",
    "schema": {
        "type": "object",
        "propertyNames": {"minLength": 1, "pattern": NO_NUL},
        "additionalProperties": {"type": "string", "pattern": NO_NUL},
    },
}


def install_docs(app: FastAPI) -> None:
    """Swagger UI from the installed swagger-ui-bundle package: /docs needs no network."""
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
            # Swagger UI would otherwise load a validator badge from the internet.
            swagger_ui_parameters={"validatorUrl": None},
        )

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)


def public_openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=TAGS,
        )
        _add_request_schemas(schema)
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                _describe(path, method, operation)
        for unused in ("HTTPValidationError", "ValidationError"):  # only the 422s named them
            schema["components"]["schemas"].pop(unused, None)
        app.openapi_schema = schema
    return app.openapi_schema


def _add_request_schemas(schema: dict[str, Any]) -> None:
    # The request bodies are parsed by our models straight from the JSON text (Decimal, no
    # float step), so FastAPI does not know them: add their schemas to the components.
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (InvoiceRequest, CompanyRequest, BuyerResponse):
        model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(model_schema.pop("$defs", {}))
        schemas[model.__name__] = model_schema


def _describe(path: str, method: str, operation: dict[str, Any]) -> None:
    operation["operationId"] = OPERATION_IDS.get((method, path), operation["operationId"])
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    if "429" in responses:
        responses["429"]["headers"] = {"Retry-After": RETRY_AFTER}
    if "503" in responses or operation.get("security"):  # authenticating reads the database
        responses["503"] = UNAVAILABLE
    if (method, path) == ("post", "/v1/invoices"):
        responses["201"]["headers"] = {"Idempotent-Replayed": IDEMPOTENT_REPLAYED}
    if (method, path) == ("post", "/v1/received-invoices/{received_id}/response"):
        responses["202"]["headers"] = {"Idempotent-Replayed": IDEMPOTENT_REPLAYED}
    if (method, path) in {("get", "/v1/invoices"), ("get", "/v1/received-invoices")}:
        operation["parameters"].append(METADATA_FILTER)
    if (method, path) == ("get", "/v1/invoices/{invoice_id}/document"):
        formats = sorted({name for _, name in FORMATS})
        responses["200"]["headers"] = {
            "X-Clearway-Format": {
                "description": "The document's format",
                "schema": {"type": "string", "enum": formats},
            }
        }
    if operation.get("security"):
        # The key's rate limit, on every answer once the key is known (not a 401, nor a 503 from
        # the key's lookup).
        for code, answer in list(responses.items()):
            if code not in {"401", "503"}:
                headers = {**RATE_LIMIT_HEADERS, **answer.get("headers", {})}
                responses[code] = {**answer, "headers": headers}
