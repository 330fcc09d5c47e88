"""The converter's worker processes (services/converter/handlers.py GateWorkers): a worker that
dies is replaced with its pool and the batch converted on the new one; an invoice that breaks
the new pool too is poison, a batch that does is tried again (one by one, by the consumer)."""

from __future__ import annotations

import os
import signal
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest
from clearway.domain.invoice import InvoiceRequest
from clearway.invoices import StoredInvoice
from clearway.messaging import PoisonMessageError
from clearway.store.invoices import InvoiceRef

from services.converter.handlers import GateWorkers


def _stored(body: dict[str, Any], invoice_id: str) -> StoredInvoice:
    return StoredInvoice(
        ref=InvoiceRef(invoice_id=invoice_id, account_id="acct_1", country="RO", livemode=False),
        company_id=None,
        request=InvoiceRequest.model_validate(body),
        invoice_number=f"N-{invoice_id}",
    )


async def test_a_dead_worker_is_replaced_and_the_batch_converted(
    seed_invoice: dict[str, Any],
) -> None:
    workers = GateWorkers(1)
    try:
        [(before, _)] = await workers.convert([_stored(seed_invoice, "inv_1")])
        broken = workers._pool  # noqa: SLF001 - the pool whose worker this test kills
        for pid in list(broken._processes):  # noqa: SLF001
            os.kill(pid, signal.SIGKILL)
        [(after, findings)] = await workers.convert([_stored(seed_invoice, "inv_1")])
        assert workers._pool is not broken  # noqa: SLF001
        assert after.content == before.content
        assert not [f for f in findings if f.flag == "fatal"]
    finally:
        workers._pool.shutdown(cancel_futures=True)  # noqa: SLF001


async def test_what_breaks_the_new_pool_too_is_poison_alone_and_retried_in_a_batch(
    seed_invoice: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = GateWorkers(1)
    try:

        async def always_broken(*_: Any) -> Any:
            raise BrokenProcessPool("a worker died")

        monkeypatch.setattr(workers, "_convert_in", always_broken)
        with pytest.raises(PoisonMessageError, match="inv_1"):
            await workers.convert([_stored(seed_invoice, "inv_1")])
        with pytest.raises(BrokenProcessPool):
            await workers.convert([_stored(seed_invoice, "inv_1"), _stored(seed_invoice, "inv_2")])
    finally:
        workers._pool.shutdown(cancel_futures=True)  # noqa: SLF001
