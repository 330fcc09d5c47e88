"""The sample purchase invoice the simulated ANAF delivers to a company's inbox on request
(`POST /_sim/anaf/purchase-invoices`): a CIUS-RO UBL rendered by Clearway's own renderer, so
what arrives is what a Romanian supplier filing through Clearway would have uploaded."""

from __future__ import annotations

import datetime as dt
import secrets
from decimal import Decimal

from clearway.governments.ro.document import render_ubl_cius_ro

from services.govsim.purchases import sample_request

SAMPLE_SUPPLIER_CIF = "18547290"


def sample_purchase_invoice(*, buyer_cif: str, supplier_cif: str, issued: dt.date) -> bytes:
    """An invoice from `supplier_cif` (Bucharest) to `buyer_cif` (Cluj), numbered afresh."""
    request = sample_request(
        country="RO",
        supplier={
            "vatNumber": f"RO{supplier_cif}",
            "name": "Furnizor Exemplu SRL",
            "address": {
                "street": "Strada Exemplu 42",
                "city": "Bucharest",
                "postalCode": "010101",
                "country": "RO",
            },
        },
        customer={
            "vatNumber": f"RO{buyer_cif}",
            "name": "Cumparator SRL",
            "address": {
                "street": "Bulevardul Unirii 10",
                "city": "Cluj-Napoca",
                "postalCode": "400001",
                "country": "RO",
            },
        },
        lines=(
            ("Servicii de consultanta", 2, Decimal("500.00")),
            ("Gazduire", 1, Decimal("100.00")),
        ),
        vat_rate=21,
        currency="RON",
        issued=issued,
        due_days=30,
        payment_means={"bankAccount": "RO49AAAA1B31007593840000", "paymentTerms": "30 zile"},
    )
    return render_ubl_cius_ro(request, invoice_number=f"FE-{secrets.token_hex(4).upper()}")
