"""Poland, end to end: a purchase invoice KSeF stores for a company's NIP arrives once in
Clearway as the same JSON POST /v1/invoices takes, with the FA(3) byte for byte (the SHA-256
KSeF stated) and KSeF's metadata record beside it; the same invoice delivered again adds
nothing."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import asyncpg
import pytest

from services.govsim.pl.purchases import SAMPLE_SELLER_NIP
from services.stack.stack import Stack
from tests.conftest import MakeAccount
from tests.libs.governments.pl.nips import random_nip
from tests.services.connections_support import connect_pl, new_company
from tests.services.receiver.receiving_support import (
    arrived_once,
    deliver,
    delivered_again_adds_nothing,
)

pytestmark = [pytest.mark.stack, pytest.mark.kafka, pytest.mark.postgres]


async def test_a_purchase_invoice_stored_in_ksef_arrives_once_as_json_with_its_bytes(
    stack: Stack, db: asyncpg.Pool[Any], make_account: MakeAccount
) -> None:
    _, client = await make_account()
    nip = random_nip()  # its own invoices and limits in the simulator
    stored = await deliver(stack.govsim_url, "/_sim/pl/purchase-invoices", {"nip": nip})
    company_id = await new_company(client, "PL", vatNumber=f"PL{nip}")
    connection = await connect_pl(stack, client, company_id, nip)  # isReceiver by default
    assert connection["status"] == "active"

    arrived = await arrived_once(client, company_id)
    received = arrived.received
    assert (received["country"], received["governmentId"]) == ("PL", stored["ksefNumber"])
    # FA(3) states both NIPs without the PL prefix.
    assert (received["supplierVat"], received["customerVat"]) == (SAMPLE_SELLER_NIP, nip)
    # The sample: 2 x 500.00 + 100.00 at 23 %. FA(3) states its gross total (P_15) and the
    # net and VAT per rate (P_13_1, P_14_1): the net and VAT are the sums of its stated rates.
    assert (received["netAmount"], received["vatAmount"], received["grossAmount"]) == (
        "1100.00",
        "253.00",
        "1353.00",
    )
    assert received["currency"] == "PLN"
    assert received["invoice"]["invoiceNumber"] == stored["invoiceNumber"]
    assert [line["description"] for line in received["invoice"]["lines"]] == [
        "Usługa doradcza",
        "Hosting",
    ]
    # The FA(3) byte for byte: the bytes KSeF hashed; its metadata record beside it.
    digest = base64.b64encode(hashlib.sha256(arrived.document.content).digest()).decode()
    assert digest == stored["invoiceHash"]
    record = json.loads(arrived.evidence.content)
    assert (record["ksefNumber"], record["invoiceHash"]) == (stored["ksefNumber"], digest)

    await delivered_again_adds_nothing(db, client, arrived)
