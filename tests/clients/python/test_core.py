"""clients/python's retry rules, decided on outcomes alone (no HTTP): what may be sent again,
and after how long."""

from __future__ import annotations

import httpx
import pytest
from clearway_client import RetryPolicy
from clearway_client import _operations as ops
from clearway_client._core import Core, Operation, Send, Sleep, query, settings_from_env

REQUEST = httpx.Request("POST", "http://api/v1/x")
POLICY = RetryPolicy(max_retries=3, jitter=lambda: 1.0)

CREATE_INVOICE = ops.invoices_create({"country": "RO"})  # the API replays it
CREATE_ENDPOINT = ops.endpoints_create("https://e.example", ["*"])  # it does not
GET_INVOICE = ops.invoices_get("inv_1")


def _answer(status: int, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers=headers, request=REQUEST)


@pytest.mark.parametrize(
    ("operation", "outcome", "retried"),
    [
        # Nothing was done: any request may go again.
        (CREATE_ENDPOINT, _answer(429), True),
        (CREATE_ENDPOINT, _answer(503), True),
        (CREATE_ENDPOINT, httpx.ConnectError("refused", request=REQUEST), True),
        # Maybe done: only what the API replays, or what is the same however often it is done.
        (CREATE_ENDPOINT, httpx.ReadError("reset", request=REQUEST), False),
        (CREATE_ENDPOINT, _answer(502), False),
        (CREATE_INVOICE, httpx.ReadError("reset", request=REQUEST), True),
        (CREATE_INVOICE, _answer(500), True),
        (GET_INVOICE, httpx.ReadTimeout("slow", request=REQUEST), True),
        (GET_INVOICE, _answer(504), True),
        # Answers that another try would not change.
        (GET_INVOICE, _answer(400), False),
        (CREATE_INVOICE, _answer(409), False),
        (GET_INVOICE, _answer(404), False),
    ],
)
def test_what_is_retried(operation: Operation[object], outcome: object, retried: bool) -> None:
    assert (POLICY.delay(operation, 0, outcome) is not None) is retried  # type: ignore[arg-type]


def test_retry_after_is_honoured_within_a_cap_and_backoff_doubles_otherwise() -> None:
    assert POLICY.delay(GET_INVOICE, 0, _answer(429, **{"Retry-After": "3"})) == 3.0
    assert POLICY.delay(GET_INVOICE, 0, _answer(429, **{"Retry-After": "3600"})) is None
    backoffs = [POLICY.delay(GET_INVOICE, n, _answer(503)) for n in range(3)]
    assert backoffs == [0.5, 1.0, 2.0]
    assert POLICY.delay(GET_INVOICE, 3, _answer(503)) is None  # max_retries spent


def test_every_post_carries_one_key_on_every_attempt() -> None:
    core = Core("sk_test_1", "http://api", retry=RetryPolicy(max_retries=1, jitter=lambda: 0.0))
    flow = core.call(CREATE_ENDPOINT)
    first = next(flow)
    assert isinstance(first, Send)
    key = first.request.headers["X-Idempotency-Key"]
    assert isinstance(flow.send(_answer(429)), Sleep)
    second = flow.send(None)
    assert isinstance(second, Send)
    assert second.request.headers["X-Idempotency-Key"] == key
    assert next(core.call(GET_INVOICE)).request.headers.get("X-Idempotency-Key") is None  # type: ignore[union-attr]


def test_filters_become_the_apis_query() -> None:
    assert query(company_id="comp_1", metadata={"a": "b"}, expand=["company"], limit=None) == [
        ("companyId", "comp_1"),
        ("metadata[a]", "b"),
        ("expand", "company"),
    ]


def test_the_environments_url_goes_only_with_the_environments_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLEARWAY_API_KEY", "sk_test_env")
    monkeypatch.setenv("CLEARWAY_API_URL", "http://env.invalid")
    assert settings_from_env(None, None) == ("sk_test_env", "http://env.invalid")
    assert settings_from_env("sk_live_given", None) == ("sk_live_given", "http://127.0.0.1:8080")
    assert settings_from_env("sk_live_given", "http://a") == ("sk_live_given", "http://a")
