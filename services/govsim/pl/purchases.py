"""The sample purchase invoice the simulated KSeF delivers to a buyer's NIP on request
(`POST /_sim/pl/purchase-invoices`): an FA(3) rendered by Clearway's own renderer, so what
arrives is what a Polish supplier filing through Clearway would have sent."""

from __future__ import annotations

import datetime as dt
import secrets

from clearway.governments.pl.document import render_fa3

from services.govsim.purchases import sample_address, sample_party, sample_request

SAMPLE_SELLER_NIP = "5265877635"


def sample_purchase_invoice(*, buyer_nip: str, seller_nip: str, issued: dt.date) -> bytes:
    """An invoice from `seller_nip` (Warsaw) to `buyer_nip` (Kraków), numbered afresh."""
    request = sample_request(
        country="PL",
        supplier=sample_party(
            f"PL{seller_nip}",
            "Dostawca Przykładowy sp. z o.o.",
            sample_address("ul. Prosta 1", "Warszawa", "00-001", "PL"),
        ),
        customer=sample_party(
            f"PL{buyer_nip}",
            "Nabywca S.A.",
            sample_address("ul. Krzywa 2", "Kraków", "30-001", "PL"),
        ),
        descriptions=("Usługa doradcza", "Hosting"),
        vat_rate=23,
        currency="PLN",
        issued=issued,
        payment_days=14,
        payment_means={"bankAccount": "PL61109010140000071219812874"},
    )
    return render_fa3(request, invoice_number=f"FV/{secrets.token_hex(4).upper()}")
