"""Structured logs: one JSON object per line, with the service, the trace and the invoice.

What a log line may hold: ids (invoice, account, trace, span), stage names, counts, status
codes and error classes. Never a secret and never an invoice body: nothing here adds either,
and call sites log ids, not payloads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from clearway.observability.tracing import current_ids

_invoice_id: ContextVar[str | None] = ContextVar("invoice_id", default=None)
_account_id: ContextVar[str | None] = ContextVar("account_id", default=None)


@contextmanager
def log_context(*, invoice_id: str | None, account_id: str | None) -> Iterator[None]:
    """Every line logged inside the block names this invoice and account."""
    invoice_token = _invoice_id.set(invoice_id)
    account_token = _account_id.set(account_id)
    try:
        yield
    finally:
        _invoice_id.reset(invoice_token)
        _account_id.reset(account_token)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self._service = service

    def format(self, record: logging.LogRecord) -> str:
        trace_id, span_id = current_ids()
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "service": self._service,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": trace_id,
            "span_id": span_id,
            "invoice_id": _invoice_id.get(),
            "account_id": _account_id.get(),
        }
        fields = getattr(record, "fields", None)  # logger.warning(…, extra={"fields": {…}})
        if isinstance(fields, dict):
            entry.update({name: value for name, value in fields.items() if name not in entry})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(service: str, level: int = logging.INFO) -> None:
    """JSON lines on stderr for the whole process, uvicorn's and FastStream's loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print plain text: let its records reach the root.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
