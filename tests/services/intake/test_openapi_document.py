"""The OpenAPI document is the contract generated clients are built from: it changes only on
purpose. The document the app serves is compared with the committed one, byte for byte (names,
order, types); after an intended change, write the new one with
`python -m tests.services.intake.test_openapi_document`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clearway.config import Settings
from fastapi.testclient import TestClient

from services.intake.app import create_app

COMMITTED = Path(__file__).with_name("openapi.json")


def _served() -> dict[str, Any]:
    # No lifespan (no database, no broker): the document is made from the routes alone.
    app = create_app(Settings(database_url="unused", kafka_bootstrap="unused"))
    document: dict[str, Any] = TestClient(app).get("/openapi.json").json()
    return document


def _text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def test_the_served_document_is_the_committed_one() -> None:
    assert _text(_served()) == COMMITTED.read_text(encoding="utf-8")


if __name__ == "__main__":
    COMMITTED.write_text(_text(_served()), encoding="utf-8")
