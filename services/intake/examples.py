"""The seed's examples, shown in the OpenAPI document (../shared/seeds/001)."""

from __future__ import annotations

from typing import Any

SEED_INVOICE_REQUEST: dict[str, Any] = {
    "country": "RO",
    "externalId": "order-12345",
    "supplier": {
        "vatNumber": "RO12345678",
        "name": "TechVision SRL",
        "address": {
            "street": "Strada Exemplu 42",
            "city": "Bucharest",
            "postalCode": "010101",
            "country": "RO",
        },
    },
    "customer": {
        "vatNumber": "RO87654321",
        "name": "Client Corp SRL",
        "address": {
            "street": "Bulevardul Unirii 10",
            "city": "Cluj-Napoca",
            "postalCode": "400001",
            "country": "RO",
        },
    },
    "lines": [
        {
            "description": "Software development services",
            "quantity": 1,
            "unitPrice": 5000,
            "vatRate": 19,
        },
        {"description": "Cloud hosting", "quantity": 1, "unitPrice": 200, "vatRate": 19},
    ],
    "currency": "RON",
    "issueDate": "2025-01-15",
    "dueDate": "2025-02-15",
    "paymentMeans": {
        "bankAccount": "RO49AAAA1B31007593840000",
        "bic": "AAABROBU",
        "paymentTerms": "Net 30",
    },
    "note": "Thank you for your business.",
}
