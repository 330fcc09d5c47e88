"""A row of ANAF's message list (listaMesajePaginatieFactura), as the pure tests of what reads
that list build one: the inbox's cursor, the sent list, the lost upload's reconciliation."""

from __future__ import annotations

from typing import TYPE_CHECKING

from clearway.governments.ro.client import ListedMessage, MessageKind

if TYPE_CHECKING:
    import datetime as dt


def listed_message(
    created: dt.datetime,
    *,
    upload_id: str = "5",
    download_id: str | None = None,
    kind: str = MessageKind.RECEIVED,
    cif: str = "1",
) -> ListedMessage:
    """The row; its download id (the message's own id) is "D" and the upload id unless given."""
    return ListedMessage(
        created=created,
        cif=cif,
        upload_id=upload_id,
        download_id=download_id or f"D{upload_id}",
        kind=kind,
        details="",
    )
