"""What ANAF's message list says of a company's recent uploads, as the poller reads it. Pure.

ANAF lists a processed upload as one row of its uploader's CIF: `FACTURA TRIMISA` when accepted,
`ERORI FACTURA` when rejected, with the upload's index (`id_solicitare`) and the id its ZIP is
downloaded by (`id`). One page of listaMesajePaginatieFactura (500 rows) thus answers the status
of many uploads at once, where stareMesaj answers one (status.py reads it).

A SentList is one connection's view of those rows: a read asks the window from a little before
the end of the last read to now, never further back than its reach (older uploads are asked
about with stareMesaj), and the rows are kept for KEEP. A row is stamped to the minute and may
be listed a little late: every SWEEP_EVERY a read reaches OVERLAP back (the minute before and a
margin) to find such rows; the reads between reach back only NEAR_OVERLAP, which keeps them to
one page (500 rows) at hundreds of decisions a second. A row listed later still is found by the
next sweep, or its upload asked about with stareMesaj once the list stayed silent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from clearway.governments.ro.client import ListedMessage, MessageKind, Stare
from clearway.governments.ro.receiving import END_LAG
from clearway.pipeline.decisions import Decided

OVERLAP = dt.timedelta(seconds=70)  # data_creare is stamped to the minute, plus a margin
NEAR_OVERLAP = dt.timedelta(seconds=2)  # the reads between two sweeps
SWEEP_EVERY = dt.timedelta(seconds=10)
KEEP = dt.timedelta(minutes=10)  # how long a row read stays in the view

# What each kind of row decides, as stareMesaj would say it.
DECISIONS = {MessageKind.SENT: Stare.OK, MessageKind.ERRORS: Stare.NOK}


@dataclass(frozen=True)
class ListWindow:
    start: dt.datetime
    end: dt.datetime
    sweep: bool  # reaching OVERLAP back


@dataclass
class SentList:
    """One connection's rows of the message list, by upload index, and how far they were read.
    `read_to`: the end of the last window read to its last page; `asked_at`: when the list was
    last asked (answered or not); `closed_until`: ANAF refused the list (its daily quota, no
    rights on the CIF): until then, stareMesaj answers instead."""

    cif: str
    read_to: dt.datetime | None = None
    asked_at: dt.datetime | None = None
    swept_at: dt.datetime | None = None
    closed_until: dt.datetime | None = None
    rows: dict[str, ListedMessage] = field(default_factory=dict)

    def due(self, now: dt.datetime, every: dt.timedelta) -> bool:
        """Whether the list should be asked again now: not asked for `every`, and open."""
        if self.closed_until is not None and now < self.closed_until:
            return False
        return self.asked_at is None or now - self.asked_at >= every

    def open(self, now: dt.datetime) -> bool:
        return self.closed_until is None or now >= self.closed_until

    def window(self, now: dt.datetime, reach: dt.timedelta) -> ListWindow | None:
        """The window to read now; None when there is nothing new to read yet."""
        floor = now - reach
        sweep = self.swept_at is None or now - self.swept_at >= SWEEP_EVERY
        back = OVERLAP if sweep else NEAR_OVERLAP
        start = floor if self.read_to is None else max(self.read_to - back, floor)
        end = now - END_LAG  # ANAF refuses an endTime in its future
        return ListWindow(start, end, sweep) if end > start else None

    def add(self, rows: tuple[ListedMessage, ...] | list[ListedMessage]) -> None:
        for row in rows:
            if row.kind in DECISIONS:
                self.rows[row.upload_id] = row

    def read(self, window: ListWindow, now: dt.datetime) -> None:
        """The window was read to its last page: the rows older than KEEP leave the view."""
        self.read_to = window.end
        if window.sweep:
            self.swept_at = now
        oldest = now - KEEP
        self.rows = {key: row for key, row in self.rows.items() if row.created >= oldest}

    def decision(self, upload_id: str) -> Decided | None:
        """The upload's decision as the list shows it, with the document to download."""
        row = self.rows.get(upload_id)
        if row is None:
            return None
        return Decided(DECISIONS[MessageKind(row.kind)].value, row.download_id)
