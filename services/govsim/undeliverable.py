"""A purchase invoice a simulator will not deliver to its buyer, and the answer of the control
that asked for it.

The simulators of the pulled inboxes (KSeF, ANAF, a French PA) take purchase invoices for a
connected buyer through a test control; one the government would not have accepted, or not for
that buyer, is refused with the government's reasons, and the control answers 422 with them.
"""

from __future__ import annotations

from http import HTTPStatus

from fastapi import Response
from fastapi.responses import JSONResponse


class UndeliverableError(Exception):
    """A purchase invoice the government would not have accepted, or not for that buyer:
    `errors` are its reasons, in its words."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def not_delivered(errors: list[str]) -> Response:
    """The control's answer to a purchase invoice it could not deliver."""
    return JSONResponse(
        {"detail": "not delivered", "errors": errors}, HTTPStatus.UNPROCESSABLE_ENTITY
    )
