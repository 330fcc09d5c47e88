"""Finding a lost upload in ANAF's message list: which rows are candidates, and when a
downloaded candidate is our invoice."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from clearway.governments.ro.client import ROMANIA, ListedMessage
from clearway.governments.ro.reconcile import (
    candidates,
    fingerprint_document,
    fingerprint_download,
    same_invoice,
)

from tests.libs.governments.ro.listed import listed_message

UBL = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>{number}</cbc:ID>
  <cbc:IssueDate>2025-01-15</cbc:IssueDate>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyTaxScheme>
    <cbc:CompanyID>RO{cif}</cbc:CompanyID>
  </cac:PartyTaxScheme></cac:Party></cac:AccountingSupplierParty>
</Invoice>"""


def _ubl(number: str = "INV-1", cif: str = "12345678") -> bytes:
    return UBL.format(number=number, cif=cif).encode()


def _download(xml: bytes, upload_id: str = "5000000001") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(f"{upload_id}.xml", xml)
        archive.writestr(f"semnatura_{upload_id}.xml", b"<Signature/>")
    return buffer.getvalue()


def test_the_download_of_our_document_matches_byte_for_byte() -> None:
    ours = fingerprint_document(_ubl())
    theirs = fingerprint_download(_download(_ubl()))
    assert same_invoice(ours, theirs)
    assert (theirs.invoice_number, theirs.issue_date, theirs.supplier_cif) == (
        "INV-1",
        "2025-01-15",
        "12345678",
    )


def test_a_reserialised_copy_matches_on_number_date_and_supplier() -> None:
    ours = fingerprint_document(_ubl())
    reserialised = fingerprint_document(_ubl().replace(b"\n  ", b"\n"))
    assert ours.document_sha256 != reserialised.document_sha256
    assert same_invoice(ours, reserialised)


def test_another_invoice_of_the_same_supplier_does_not_match() -> None:
    assert not same_invoice(fingerprint_document(_ubl()), fingerprint_document(_ubl("INV-2")))
    assert not same_invoice(
        fingerprint_document(_ubl()), fingerprint_document(_ubl(cif="87654321"))
    )


def _row(minute: int, upload_id: str, kind: str = "FACTURA TRIMISA") -> ListedMessage:
    created = dt.datetime(2026, 6, 1, 12, minute, tzinfo=ROMANIA)
    return listed_message(created, cif="12345678", upload_id=upload_id, kind=kind)


def test_candidates_are_accepted_unclaimed_messages_since_the_lost_upload() -> None:
    since = dt.datetime(2026, 6, 1, 12, 10, 30, tzinfo=ROMANIA)
    rows = [
        _row(5, "1"),  # before the upload began
        _row(10, "2"),  # the same minute: data_creare has no seconds
        _row(11, "3", "ERORI FACTURA"),  # rejected: re-uploading cannot file it twice
        _row(12, "4"),  # another invoice's upload that Clearway knows
        _row(13, "5"),
    ]
    found = candidates(rows, since=since, known_upload_ids={"4"})
    assert [c.upload_id for c in found] == ["2", "5"]
