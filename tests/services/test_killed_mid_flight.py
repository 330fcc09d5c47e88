"""kill -9 mid-flight loses nothing, in the running stack: each submitter killed while its upload
is in flight (RO, BE, DE, IT), the poller while decisions are being followed, the webhook
dispatcher while a delivery hangs. Every invoice still ends accepted and filed once, every
delivery goes out once more under the same webhook-id.

One test kills them all at once. After a kill -9 the broker hands the killed group's partitions
to the restarted process only ~18 s later (Tansu, whatever the session timeout), and a restart
waits for that: killed in a test each, the waits added up to three minutes of `make test`; here
they overlap. Each behaviour keeps its own flow and the asserts of the test it was; the poller is
killed once, when every flow that follows a decision is ready for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest

from services.stack.stack import Stack
from tests.conftest import MakeAccount, data_of, wait_status
from tests.libs.validation.bodies import clean_body
from tests.services import filing_support as filing
from tests.services import network_support as network
from tests.services.filing_support import InFlight, SharedKill
from tests.services.submitter_it import it_support as it
from tests.services.submitter_ro import ro_support as ro
from tests.services.webhook_dispatcher.webhooktools import (
    Answer,
    in_turn,
    routed_endpoint,
    running_receiver,
    send_test_event,
    signature_is_valid,
    wait_for_delivery,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]

SUBMITTERS = ("submitter_ro", "submitter_be", "submitter_de", "submitter_it")
# The flows that kill the poller: BE, DE, IT and the poller's own.
POLLER_KILLERS = 4
# What a BE or DE invoice is filed through: its body, and how to read the id the government gave
# its one filing (from the invoice's number).
Receipt = Callable[[str], Awaitable[Any]]
Channel = Callable[[Stack], Awaitable[tuple[dict[str, Any], Receipt]]]


@dataclass(frozen=True)
class Scene:
    """What every flow works with: the stack, its database, new accounts, and the kills."""

    stack: Stack
    db: asyncpg.Pool[Any]
    make_account: MakeAccount
    submitters: dict[str, SharedKill]
    poller: SharedKill


async def test_killing_every_worker_mid_flight_loses_nothing(
    stack: Stack,
    db: asyncpg.Pool[Any],
    make_account: MakeAccount,
    seed_invoice: dict[str, Any],
) -> None:
    submitters = {name: SharedKill(stack, name) for name in SUBMITTERS}
    poller = SharedKill(stack, "poller", flows=POLLER_KILLERS)
    scene = Scene(stack, db, make_account, submitters, poller)
    # A failing flow cancels the others (none waits for a kill that never comes).
    async with asyncio.TaskGroup() as flows:
        flows.create_task(_ro_killed_mid_upload(scene, seed_invoice))
        flows.create_task(_restarted_mid_flight(scene, "BE", _peppol_send))
        flows.create_task(_restarted_mid_flight(scene, "DE", _zre_upload))
        flows.create_task(_it_killed_mid_flight(scene))
        flows.create_task(_poller_killed(scene, seed_invoice))
        flows.create_task(_dispatcher_killed_mid_delivery(scene))


async def _ro_killed_mid_upload(scene: Scene, seed_invoice: dict[str, Any]) -> None:
    """RO: a submitter killed mid-upload reconciles and files once."""
    company = await ro.ro_company(scene.make_account)
    # `slow`: the simulator answers the upload 1.5 s late, long enough to kill the submitter.
    invoice_id = await ro.file_invoice(company, seed_invoice, "slow")
    await network.wait_for_state(scene.db, invoice_id, "uploading")
    await scene.submitters["submitter_ro"].when_all_ready()

    await ro.wait_ended(company.client, invoice_id, "accepted", timeout=120)
    assert len(await ro.filings(scene.stack, company.cif)) == 1
    submitted = ro.event(await ro.events_of(company.client, invoice_id), "invoice.submitted")
    assert submitted["metadata"]["uploadId"] == str(
        (await ro.filings(scene.stack, company.cif))[0]["index_incarcare"]
    )


async def _restarted_mid_flight(scene: Scene, country: str, channel: Channel) -> None:
    """BE, DE: restarting the submitter and the poller mid-flight loses nothing; the one filing
    the government received is the invoice's upload."""
    client = await filing.connected_client(scene.make_account, country)
    body, receipt = await channel(scene.stack)
    # `slow`: the government answers the send 1.5 s late, long enough to kill the submitter.
    invoice_id, number = await network.file(client, body, "slow")
    submitter = scene.submitters[f"submitter_{country.lower()}"]
    await filing.accepted_through_restarts(scene.db, client, invoice_id, submitter, scene.poller)
    submitted = await ro.submission_of(client, invoice_id)
    assert submitted["uploadId"] == await receipt(number)


async def _peppol_send(stack: Stack) -> tuple[dict[str, Any], Receipt]:
    """BE over Peppol, to a buyer of this test's own: the access point's one document for it."""
    number = network.enterprise_number()
    body, receiver = await network.peppol_buyer(stack, "BE", f"BE{number}", f"0208:{number}")

    async def document_id(_: str) -> Any:
        [document] = await network.peppol_documents(stack, receiver=receiver)
        return document["documentId"]

    return body, document_id


async def _zre_upload(stack: Stack) -> tuple[dict[str, Any], Receipt]:
    """DE to a public buyer (its Leitweg-ID): ZRE's one upload of the invoice's number."""
    await network.register_leitweg_id(stack)

    async def upload_id(number: str) -> Any:
        [upload] = await network.zre_uploads(stack, number)
        return upload["id"]

    return {**clean_body("DE"), "buyerReference": network.LEITWEG_ID}, upload_id


async def _it_killed_mid_flight(scene: Scene) -> None:
    """IT: killing the submitter and the poller mid-flight loses nothing; the file keeps the
    name fixed before the kill."""
    stack, db = scene.stack, scene.db
    company = await it.it_company(scene.make_account)
    # `slow`: SDI answers the send 1.5 s late (long enough to kill the submitter while the
    # file is in flight) and notifies 8 s after receipt (long enough to kill the poller).
    invoice_id = await it.file_invoice(company, "slow")
    await network.wait_for_state(db, invoice_id, "uploading")
    name = await db.fetchval(  # the file name is fixed before the send leaves
        "SELECT gov_session FROM submissions WHERE invoice_id = $1", invoice_id
    )
    await scene.submitters["submitter_it"].when_all_ready()
    await _wait_for(
        db, "SELECT count(*) FROM status_polls WHERE invoice_id = $1", invoice_id, 1, timeout=90
    )
    await scene.poller.when_all_ready(in_flight=_undecided(company.client, invoice_id))
    await ro.wait_ended(company.client, invoice_id, "accepted", timeout=120)
    [received] = await it.sdi_files(stack, company)
    submitted = await ro.submission_of(company.client, invoice_id)
    assert submitted["uploadId"] == str(received["identificativoSdI"])
    assert received["nomeFile"] == submitted["fileName"] == name  # the name fixed before the kill
    # The restarted submitter looked the name up before anything else: the killed send was
    # adopted if SDI had it, else sent again under the same name (never a second filing).
    endpoints = [a["endpoint"] for a in submitted["attempts"]]
    assert endpoints[0] == it.LOOKUP
    assert submitted.get("reconciled", False) is (it.SEND not in endpoints)


async def _poller_killed(scene: Scene, seed_invoice: dict[str, Any]) -> None:
    """The poller killed while three RO invoices are followed: all three end accepted, filed
    once each."""
    company = await ro.ro_company(scene.make_account)
    # Filed once submitter-ro is back: only the poller's kill meets these three.
    await scene.submitters["submitter_ro"].done.wait()
    invoices = [await ro.file_invoice(company, seed_invoice, "slow") for _ in range(3)]
    for invoice_id in invoices:
        await wait_status(company.client, invoice_id, {"submitted", "accepted"})
    # kill -9 while the three are being followed (at least one still undecided)
    await scene.poller.when_all_ready(in_flight=_undecided(company.client, *invoices))

    for invoice_id in invoices:
        await ro.wait_ended(company.client, invoice_id, "accepted", timeout=120)
    assert len(await ro.filings(scene.stack, company.cif)) == 3


async def _dispatcher_killed_mid_delivery(scene: Scene) -> None:
    """A killed dispatcher delivers after restart with the same webhook-id; the killed attempt
    left no record."""
    _, client = await scene.make_account()
    async with running_receiver() as receiver:
        hangs_first = in_turn([Answer(200, delay=60)])
        url, endpoint = await routed_endpoint(client, receiver, hangs_first)
        queued = await send_test_event(client, endpoint["id"])
        [first] = await receiver.wait_for(url, 1)

        await scene.stack.restart("webhook_dispatcher")  # kill -9 mid-delivery, then start it again

        _, second = await receiver.wait_for(url, 2, timeout=60)
        assert second.webhook_id == first.webhook_id == queued["webhookId"]
        assert second.body == first.body
        assert signature_is_valid(second, endpoint["secret"])
        done = await wait_for_delivery(client, endpoint["id"], lambda d: d["status"] == "delivered")
    assert [a["httpStatus"] for a in done["attempts"]] == [200]  # the killed one left no record


def _undecided(client: httpx.AsyncClient, *invoice_ids: str) -> InFlight:
    """In flight for the poller's kill: some of the invoices still wait for their decision."""

    async def any_undecided() -> bool:
        statuses = [
            data_of(await client.get(f"/v1/invoices/{invoice_id}"))["status"]
            for invoice_id in invoice_ids
        ]
        return "submitted" in statuses

    return any_undecided


async def _wait_for(
    db: asyncpg.Pool[Any], query: str, invoice_id: str, wanted: object, timeout: float = 60
) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while await db.fetchval(query, invoice_id) != wanted:
        if asyncio.get_running_loop().time() > deadline:
            pytest.fail(f"{query} never gave {wanted!r} for {invoice_id}")
        await asyncio.sleep(0.02)
