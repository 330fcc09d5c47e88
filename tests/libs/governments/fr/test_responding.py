"""The buyer's response through the PA (governments/fr/responding.py): accept is 205 Approuvée,
reject 210 Refusée with the reason, recorded on the incoming flow at the simulated PA; after a
lost answer the status already there is the receipt, not a second status (which the PA refuses)."""

from __future__ import annotations

import json

import pytest
from clearway.connectors.calls import GovernmentRefusedError
from clearway.domain.responses import BuyerResponse
from clearway.governments.fr.client import PaClient, buyer_status
from clearway.governments.fr.responding import PaResponder, recorded_status, status_of

from tests.libs.governments.fr.test_receiving import API_KEY, HOST, Company
from tests.libs.governments.fr.test_receiving import company as company  # noqa: PLC0414 - fixture

ACCEPT = BuyerResponse.model_validate({"decision": "accept"})
REJECT = BuyerResponse.model_validate({"decision": "reject", "reason": "Prix erroné"})


def test_accept_is_205_and_reject_is_210_with_its_reason() -> None:
    assert status_of(ACCEPT).body() == {"code": 205}
    assert status_of(REJECT).body() == {"code": 210, "reason": "Prix erroné"}


def test_a_status_already_in_the_lifecycle_is_found_and_another_is_not() -> None:
    metadata = json.dumps(
        {"lifecycle": [{"code": 202}, {"code": 203}, {"code": 205, "label": "Approuvée"}]}
    ).encode()

    assert recorded_status(metadata, buyer_status(205)) == {"code": 205, "label": "Approuvée"}
    assert recorded_status(metadata, buyer_status(210, "x")) is None
    assert recorded_status(b"not json", buyer_status(205)) is None


def _responder(company: Company, flow_id: str) -> PaResponder:
    return PaResponder(PaClient(f"{HOST}/pa", API_KEY, company.http), flow_id)


async def test_a_rejection_is_recorded_on_the_flow_as_210_with_its_reason(
    company: Company,
) -> None:
    flow_id = await company.deliver()

    receipt = await _responder(company, flow_id).respond(REJECT, attempts=0)

    flow = company.simulator.incoming.get(flow_id)
    assert flow is not None
    assert [(s.code, s.reason) for s in flow.lifecycle][-1] == (210, "Prix erroné")
    assert receipt.network_id == flow_id
    assert receipt.details == {"flowId": flow_id, "statusCode": 210, "label": "Refusée"}


async def test_after_a_lost_answer_the_status_already_recorded_is_the_receipt(
    company: Company,
) -> None:
    flow_id = await company.deliver()
    await _responder(company, flow_id).respond(ACCEPT, attempts=0)  # its answer "lost"

    again = await _responder(company, flow_id).respond(ACCEPT, attempts=1)

    flow = company.simulator.incoming.get(flow_id)
    assert flow is not None
    assert [s.code for s in flow.lifecycle] == [202, 203, 205]  # once
    assert again.details["alreadyRecorded"] is True
    assert again.details["statusCode"] == 205


async def test_a_status_the_lifecycle_does_not_allow_is_the_pas_refusal(
    company: Company,
) -> None:
    flow_id = await company.deliver()
    await _responder(company, flow_id).respond(REJECT, attempts=0)

    with pytest.raises(GovernmentRefusedError) as refused:
        await _responder(company, flow_id).respond(ACCEPT, attempts=0)

    assert refused.value.message == "205 ne peut pas suivre 210 Refusée"
