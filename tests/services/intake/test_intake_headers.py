"""The invoices.intake headers, as the topic's handler reads them: every documented name in any
case, a lookalike in another spelling refused naming the accepted one, none given twice."""

from __future__ import annotations

import pytest

from services.intake.errors import ApiError
from services.intake.kafka_intake import INTAKE_HEADERS, intake_headers

CASINGS = (str.lower, str.upper, str.title, lambda name: name)


@pytest.mark.parametrize("documented", INTAKE_HEADERS)
@pytest.mark.parametrize("casing", CASINGS)
def test_every_documented_header_is_read_in_any_case(documented: str, casing: object) -> None:
    assert callable(casing)
    sent = casing(documented)
    assert intake_headers([(sent, b"value"), ("traceparent", b"00-ab-cd-01")]) == {
        documented: "value"
    }


@pytest.mark.parametrize(
    ("sent", "accepted"),
    [
        ("idempotency_key", "idempotency-key"),
        ("Idempotency Key", "idempotency-key"),
        ("idempotencykey", "idempotency-key"),
        ("X-Idempotency-Key", "idempotency-key"),
        ("IDEMPOTENCY.KEY", "idempotency-key"),
        ("Authorization ", "authorization"),
        ("x-authorization", "authorization"),
        ("X_Clearway_Sandbox_Scenario", "X-Clearway-Sandbox-Scenario"),
        ("clearway-sandbox-scenario", "X-Clearway-Sandbox-Scenario"),
        ("xclearwaysandboxscenario", "X-Clearway-Sandbox-Scenario"),
    ],
)
def test_a_lookalike_is_refused_naming_it_and_the_accepted_spelling(
    sent: str, accepted: str
) -> None:
    with pytest.raises(ApiError) as refused:
        intake_headers([("authorization", b"Bearer sk_test_x"), (sent, b"order-1")])
    assert refused.value.error_type == "validation_error"
    assert f"'{sent}'" in refused.value.message
    assert f"'{accepted}'" in refused.value.message
    assert refused.value.param == f"/{sent}"  # the header at fault, as a JSON pointer


def test_one_of_ours_given_twice_in_two_casings_is_refused() -> None:
    with pytest.raises(ApiError) as refused:
        intake_headers([("idempotency-key", b"a"), ("Idempotency-Key", b"b")])
    assert "idempotency-key" in refused.value.message
    assert "more than once" in refused.value.message
    assert refused.value.param == "/idempotency-key"


def test_headers_that_are_not_ours_are_left_alone() -> None:
    assert intake_headers([("traceparent", b"x"), ("content-type", b"json"), ("key", None)]) == {}
