"""The RO connection when the user refuses the eSign consent at ANAF: ANAF sends the browser
back with `error=access_denied`; the connection is not activated and says why."""

from __future__ import annotations

import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import error_of
from tests.services.connections_support import (
    authorize_at_anaf,
    new_company,
    open_callback,
    query_of,
    start_connection,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def _user_answers(stack: Stack, *, refuse: bool) -> None:
    async with httpx.AsyncClient(base_url=stack.govsim_url, timeout=10) as sim:
        queued = await sim.post("/_sim/anaf/consents", json={"refuse": refuse})
    assert queued.status_code == 204, queued.text


async def test_a_refused_esign_leaves_the_connection_inactive_with_a_clear_reason(
    stack: Stack, client: httpx.AsyncClient
) -> None:
    pending = await start_connection(client, await new_company(client, "RO"), "RO")
    await _user_answers(stack, refuse=True)
    callback = await authorize_at_anaf(pending["authorizationUrl"])
    assert query_of(callback)["error"] == "access_denied"

    error = error_of(await open_callback(callback), 400)
    assert error["type"] == "validation_error"
    assert error["param"] == "/error"
    assert "refused to authorize Clearway" in error["message"]
    assert "POST /v1/connections" in error["message"]
    fetched = (await client.get(f"/v1/connections/{pending['id']}")).json()["data"]
    assert fetched["status"] == "error"
    assert "refused to authorize Clearway" in fetched["lastErrorMessage"]
    assert "access_denied" in fetched["lastErrorMessage"]
