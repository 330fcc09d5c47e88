"""KSeF's UPO (Urzędowe Poświadczenie Odbioru), the official receipt the simulated KSeF answers:
for one invoice of a session, or for every invoice a closed session got numbered."""

from __future__ import annotations

from http import HTTPStatus
from typing import TYPE_CHECKING

from services.govsim.pl.auth import INVOICE_NOT_FOUND, KsefError
from services.govsim.pl.documents import UpoEntry, UpoHeader, upo_document

if TYPE_CHECKING:
    from services.govsim.pl.sessions import KsefSimulator, OnlineSession, SessionInvoice


def invoice_upo(simulator: KsefSimulator, invoice: SessionInvoice) -> bytes:
    if not invoice.succeeded:
        raise KsefError(
            INVOICE_NOT_FOUND,
            "Nie znaleziono UPO.",
            [f"UPO dla faktury {invoice.reference_number} nie jest dostępne."],
        )
    return _upo(simulator, invoice.session, [invoice])


def session_upo(simulator: KsefSimulator, session: OnlineSession, upo_reference: str) -> bytes:
    status, _ = simulator.session_status(session)
    if status != HTTPStatus.OK or session.upo_reference != upo_reference:
        raise KsefError(
            INVOICE_NOT_FOUND,
            "Nie znaleziono UPO.",
            [f"UPO {upo_reference} nie istnieje dla sesji {session.reference_number}."],
        )
    succeeded = [invoice for invoice in session.invoices if invoice.succeeded]
    return _upo(simulator, session, succeeded)


def _upo(simulator: KsefSimulator, session: OnlineSession, invoices: list[SessionInvoice]) -> bytes:
    entries = [
        UpoEntry(
            seller_nip=invoice.facts.seller_nip,
            ksef_number=invoice.ksef_number or "",
            invoice_number=invoice.facts.invoice_number,
            issue_date=invoice.facts.issue_date,
            sent_at=simulator.warsaw(invoice.received_at),
            numbered_at=simulator.warsaw(invoice.acquired_at),
            invoice_hash=invoice.sent.invoice_hash,
        )
        for invoice in invoices
        if invoice.facts is not None
    ]
    header = UpoHeader(
        session_reference=session.reference_number,
        context_nip=session.context_nip,
        authentication_digest=session.operation.request_digest,
    )
    return upo_document(header, entries, seal_key=simulator.seal_key, signed_at=simulator.warsaw())
