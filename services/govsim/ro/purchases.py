"""The sample purchase invoice the simulated ANAF delivers to a company's inbox on request
(`POST /_sim/anaf/purchase-invoices`): a CIUS-RO UBL rendered by Clearway's own renderer, so
what arrives is what a Romanian supplier filing through Clearway would have uploaded."""

from __future__ import annotations

import datetime as dt
import secrets

from clearway.governments.ro.document import render_ubl_cius_ro

from services.govsim.purchases import sample_address, sample_party, sample_request

SAMPLE_SUPPLIER_CIF = "18547290"


def sample_purchase_invoice(*, buyer_cif: str, supplier_cif: str, issued: dt.date) -> bytes:
    """An invoice from `supplier_cif` (Bucharest) to `buyer_cif` (Cluj), numbered afresh."""
    request = sample_request(
        country="RO",
        supplier=sample_party(
            f"RO{supplier_cif}",
            "Furnizor Exemplu SRL",
            sample_address("Strada Exemplu 42", "Bucharest", "010101", "RO"),
        ),
        customer=sample_party(
            f"RO{buyer_cif}",
            "Cumparator SRL",
            sample_address("Bulevardul Unirii 10", "Cluj-Napoca", "400001", "RO"),
        ),
        descriptions=("Servicii de consultanta", "Gazduire"),
        vat_rate=21,
        currency="RON",
        issued=issued,
        payment_days=30,
        payment_means={"bankAccount": "RO49AAAA1B31007593840000", "paymentTerms": "30 zile"},
    )
    return render_ubl_cius_ro(request, invoice_number=f"FE-{secrets.token_hex(4).upper()}")
