"""Every error answer's `param` (and each of its `errors[].param`) is a JSON pointer or absent,
whatever was wrong: the body, an unknown id on any resource, a query parameter or a header.
A resource named by the URL that does not exist is `/id`."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.conftest import MakeAccount

# Only intake answers here: the API-only stack serves (make_api_account), beside the
# whole-stack tests in `make test`.
pytestmark = [pytest.mark.postgres]

UNKNOWN = "zz_000000000000000000000000"
NOT_JSON = b"{not json"


def _bad_bodies(seed: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(method, path, body): a body given as bytes is sent as it is, anything else as JSON."""
    lines = seed["lines"]
    spoiled_lines = [{**lines[0], "unitPrice": "12,5", "vatRate": 101}, {"unitPrice": 1}]
    return [
        # (POST /v1/invoices/validate answers a bad body 200, with its findings.)
        *(
            ("POST", "/v1/invoices", body)
            for body in (
                NOT_JSON,
                [],
                "an invoice",
                {},
                {**seed, "lines": spoiled_lines},
                {**seed, "colour": "red"},
                {**seed, "supplier": {**seed["supplier"], "address": {"country": "Romania"}}},
                {**seed, "metadata": {"k": 1}},
            )
        ),
        ("POST", "/v1/companies", NOT_JSON),
        ("POST", "/v1/companies", {"legalName": "", "country": "XX"}),
        ("POST", "/v1/connections", NOT_JSON),
        ("POST", "/v1/connections", {}),
        ("POST", "/v1/connections", {"companyId": UNKNOWN, "countryCode": "RO"}),
        ("POST", "/v1/connections", {"companyId": "c", "countryCode": "RO", "isSender": "x"}),
        ("POST", "/v1/webhook-endpoints", {"url": "ftp://example.com", "enabledEvents": []}),
        ("POST", "/v1/webhook-endpoints", {"url": "http://10.0.0.1/", "enabledEvents": ["*"]}),
        ("POST", "/v1/webhook-endpoints", NOT_JSON),
    ]


def _unknown_ids() -> list[tuple[str, str, Any]]:
    certificate = {"format": "pkcs12", "certificate": base64.b64encode(b"x").decode()}
    return [
        ("GET", f"/v1/invoices/{UNKNOWN}", None),
        ("GET", f"/v1/invoices/{UNKNOWN}/events", None),
        ("GET", f"/v1/invoices/{UNKNOWN}/document", None),
        ("GET", f"/v1/invoices/{UNKNOWN}/receipt", None),
        ("GET", f"/v1/companies/{UNKNOWN}", None),
        ("DELETE", f"/v1/companies/{UNKNOWN}", None),
        ("GET", f"/v1/connections/{UNKNOWN}", None),
        ("DELETE", f"/v1/connections/{UNKNOWN}", None),
        ("POST", f"/v1/connections/{UNKNOWN}/certificate", certificate),
        ("POST", f"/v1/connections/{UNKNOWN}/ksef-token", {"token": "t"}),
        ("GET", f"/v1/webhook-endpoints/{UNKNOWN}", None),
        ("PATCH", f"/v1/webhook-endpoints/{UNKNOWN}", {"description": "x"}),
        ("DELETE", f"/v1/webhook-endpoints/{UNKNOWN}", None),
        ("POST", f"/v1/webhook-endpoints/{UNKNOWN}/rotate-secret", None),
        ("GET", f"/v1/webhook-endpoints/{UNKNOWN}/deliveries", None),
        ("POST", f"/v1/webhook-endpoints/{UNKNOWN}/test", None),
        ("POST", f"/v1/webhook-endpoints/{UNKNOWN}/deliveries/{UNKNOWN}/retry", None),
    ]


def _bad_queries(endpoint_id: str) -> list[tuple[str, str, Any]]:
    deliveries = f"/v1/webhook-endpoints/{endpoint_id}/deliveries"
    return [
        ("GET", "/v1/invoices?limit=0", None),
        ("GET", "/v1/invoices?limit=many", None),
        ("GET", "/v1/invoices?status=paid", None),
        ("GET", "/v1/invoices?country=ROU", None),
        ("GET", "/v1/invoices?dateFrom=yesterday&dateTo=tomorrow", None),
        ("GET", "/v1/invoices?cursor=!!", None),
        ("GET", "/v1/invoices?cursor=bm90LW91cnM", None),
        ("GET", "/v1/invoices?expand=customer", None),
        ("GET", "/v1/invoices?search=%00", None),
        ("GET", f"/v1/invoices/{UNKNOWN}?expand=everything", None),
        ("GET", f"{deliveries}?status=lost", None),
        ("GET", f"{deliveries}?cursor=whd_unknown", None),
        ("GET", f"{deliveries}?limit=1000", None),
        ("GET", "/v1/callbacks/anaf", None),
        ("GET", "/v1/callbacks/anaf?state=unknown&code=c", None),
        ("POST", f"/v1/webhook-endpoints/{endpoint_id}/rotate-secret", {"overlapSeconds": -1}),
        ("GET", "/v1/no-such-thing", None),
        ("PUT", "/v1/invoices", None),
    ]


async def _send(client: httpx.AsyncClient, method: str, path: str, body: Any, **kw: Any) -> Any:
    if isinstance(body, bytes):
        kw["content"] = body
        kw.setdefault("headers", {})["Content-Type"] = "application/json"
    elif body is not None:
        kw["json"] = body
    return await client.request(method, path, **kw)


def _problems(answer: httpx.Response, what: str) -> list[str]:
    if answer.status_code < 400:
        return [f"{what}: answered {answer.status_code}, not an error"]
    try:
        error = answer.json()["error"]
    except (ValueError, KeyError, TypeError):
        return [f"{what}: {answer.status_code} without the error envelope: {answer.text[:200]}"]
    # `param` is a JSON pointer or absent: never null, never a bare field name.
    params = [
        error.get("param", "absent"),
        *(item.get("param", "absent") for item in error["errors"]),
    ]
    return [
        f"{what}: param {param!r} is neither a JSON pointer nor absent"
        for param in params
        if param != "absent" and not (isinstance(param, str) and param.startswith("/"))
    ]


async def test_every_error_names_its_param_as_a_json_pointer(
    make_api_account: MakeAccount, seed_invoice: dict[str, Any]
) -> None:
    _, client = await make_api_account()
    endpoint = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com/hook", "enabledEvents": ["*"]}
    )
    assert endpoint.status_code == 201, endpoint.text
    endpoint_id = endpoint.json()["data"]["id"]
    requests = [*_bad_bodies(seed_invoice), *_unknown_ids(), *_bad_queries(endpoint_id)]
    problems: list[str] = []
    for method, path, body in requests:
        answer = await _send(client, method, path, body)
        problems += _problems(answer, f"{method} {path} {json.dumps(body, default=str)[:80]}")
    headers = [
        {"X-Idempotency-Key": ""},
        {"X-Clearway-Sandbox-Scenario": "meteor"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer sk_test_unknown"},
    ]
    for header in headers:
        answer = await _send(client, "POST", "/v1/invoices", seed_invoice, headers=header)
        problems += _problems(answer, f"POST /v1/invoices with {header}")
    assert problems == []


async def test_an_unknown_resource_in_the_url_is_named_slash_id(
    make_api_account: MakeAccount,
) -> None:
    _, client = await make_api_account()
    endpoint = await client.post(
        "/v1/webhook-endpoints", json={"url": "https://example.com/hook", "enabledEvents": ["*"]}
    )
    endpoint_id = endpoint.json()["data"]["id"]
    for method, path, body in _unknown_ids():
        answer = await _send(client, method, path, body)
        assert answer.status_code == 404, (method, path, answer.text)
        error = answer.json()["error"]
        assert (error["type"], error["param"]) == ("not_found", "/id"), (method, path, error)
        assert [item["param"] for item in error["errors"]] == ["/id"]
    retry = f"/v1/webhook-endpoints/{endpoint_id}/deliveries/{UNKNOWN}/retry"
    answer = await client.post(retry)
    assert answer.status_code == 404
    assert answer.json()["error"]["param"] == "/deliveryId"


async def test_parameter_errors_point_at_the_parameter(make_api_account: MakeAccount) -> None:
    _, client = await make_api_account()
    cases = {
        "/v1/invoices?limit=0": "/limit",
        "/v1/invoices?cursor=bm90LW91cnM": "/cursor",
        "/v1/invoices?expand=customer": "/expand",
        "/v1/callbacks/anaf?state=unknown&code=c": "/state",
    }
    for path, param in cases.items():
        answer = await client.get(path)
        assert answer.status_code in {400, 404}, (path, answer.text)
        assert answer.json()["error"]["param"] == param, (path, answer.text)
    empty_key = await client.post("/v1/invoices", json={}, headers={"X-Idempotency-Key": ""})
    assert empty_key.status_code == 400
    assert empty_key.json()["error"]["param"] == "/X-Idempotency-Key"
    no_route = await client.get("/v1/no-such-thing")
    assert no_route.status_code == 404
    assert no_route.json()["error"]["type"] == "not_found"


async def test_an_error_about_no_field_has_no_param(make_api_account: MakeAccount) -> None:
    """A body that is not JSON, or an unknown route, names no field: `param` is left out, not
    null (the API conventions: present only when a parameter was responsible)."""
    _, client = await make_api_account()
    not_json = await client.post(
        "/v1/invoices", content=NOT_JSON, headers={"Content-Type": "application/json"}
    )
    no_route = await client.get("/v1/no-such-thing")
    for answer in (not_json, no_route):
        assert answer.status_code in {400, 404}, answer.text
        error = answer.json()["error"]
        assert "param" not in error, error
        assert all("param" not in item or item["param"].startswith("/") for item in error["errors"])
