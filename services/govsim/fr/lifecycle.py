"""The reform's lifecycle (CDAR) statuses as the simulated platform records them, on the
invoices it takes (state.py) and on those it receives for a buyer (incoming.py)."""

from __future__ import annotations

from dataclasses import dataclass

STATUS_LABELS = {
    200: "Déposée",
    201: "Émise",
    202: "Reçue",
    203: "Mise à disposition",
    204: "Prise en charge",
    205: "Approuvée",
    206: "Approuvée partiellement",
    207: "En litige",
    208: "Suspendue",
    209: "Complétée",
    210: "Refusée",
    211: "Paiement transmis",
    212: "Encaissée",
    213: "Rejetée",
    501: "Irrecevable",
}


@dataclass(frozen=True)
class StatusEntry:
    code: int
    at: float
    reason: str | None = None
    reason_code: str | None = None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.code]
