"""The sample purchase invoice the simulated KSeF delivers to a buyer's NIP on request
(`POST /_sim/pl/purchase-invoices`): an FA(3) rendered by Clearway's own renderer, so what
arrives is what a Polish supplier filing through Clearway would have sent."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from clearway.governments.pl.document import render_fa3

from services.govsim.purchases import sample_request

SAMPLE_SELLER_NIP = "5265877635"


def sample_purchase_invoice(*, buyer_nip: str, seller_nip: str, issued: dt.date) -> bytes:
    """An invoice from `seller_nip` (Warsaw) to `buyer_nip` (Kraków), numbered afresh."""
    request = sample_request(
        country="PL",
        supplier={
            "vatNumber": f"PL{seller_nip}",
            "name": "Dostawca Przykładowy sp. z o.o.",
            "address": {
                "street": "ul. Prosta 1",
                "city": "Warszawa",
                "postalCode": "00-001",
                "country": "PL",
            },
        },
        customer={
            "vatNumber": f"PL{buyer_nip}",
            "name": "Nabywca S.A.",
            "address": {
                "street": "ul. Krzywa 2",
                "city": "Kraków",
                "postalCode": "30-001",
                "country": "PL",
            },
        },
        lines=(("Usługa doradcza", 2, Decimal("500.00")), ("Hosting", 1, Decimal("100.00"))),
        vat_rate=23,
        currency="PLN",
        issued=issued,
        due_days=14,
        payment_means={"bankAccount": "PL61109010140000071219812874"},
    )
    return render_fa3(request, invoice_number=f"FV/{secrets.token_hex(4).upper()}")
