"""The sample purchase invoice the simulated KSeF delivers to a buyer's NIP on request
(`POST /_sim/pl/purchase-invoices`): an FA(3) rendered by Clearway's own renderer, so what
arrives is what a Polish supplier filing through Clearway would have sent."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from clearway.governments.pl.document import render_fa3

from services.govsim.samples import SampleLine, SampleParty, sample_request

SAMPLE_SELLER_NIP = "5265877635"


def sample_purchase_invoice(*, buyer_nip: str, seller_nip: str, issued: dt.date) -> bytes:
    """An invoice from `seller_nip` (Warsaw) to `buyer_nip` (Kraków), numbered afresh."""
    request = sample_request(
        country="PL",
        supplier=SampleParty(
            f"PL{seller_nip}",
            "Dostawca Przykładowy sp. z o.o.",
            "ul. Prosta 1",
            "Warszawa",
            "00-001",
        ),
        customer=SampleParty(f"PL{buyer_nip}", "Nabywca S.A.", "ul. Krzywa 2", "Kraków", "30-001"),
        lines=(
            SampleLine("Usługa doradcza", 2, Decimal("500.00"), 23),
            SampleLine("Hosting", 1, Decimal("100.00"), 23),
        ),
        currency="PLN",
        issued=issued,
        due_in=dt.timedelta(days=14),
        payment_means={"bankAccount": "PL61109010140000071219812874"},
    )
    return render_fa3(request, invoice_number=f"FV/{secrets.token_hex(4).upper()}")
