"""How a successful answer is read: each Operation's `parse`, from the answer's `data`, the
answer itself, a page of a listing or a document's bytes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import httpx
from pydantic import TypeAdapter

from clearway_client.models import ApiModel, Document, Invoice, Page

T = TypeVar("T")
M = TypeVar("M", bound=ApiModel)


def data_of(adapter: TypeAdapter[T]) -> Callable[[httpx.Response], T]:
    """The answer's `data`, read by `adapter`."""
    return lambda response: adapter.validate_python(response.json()["data"])


def model(kind: type[M]) -> Callable[[httpx.Response], M]:
    return lambda response: kind.model_validate(response.json()["data"])


def created_invoice(response: httpx.Response) -> Invoice:
    """POST /v1/invoices' answer, knowing whether it replays an earlier one."""
    invoice = Invoice.model_validate(response.json()["data"])
    invoice._replayed = response.headers.get("idempotent-replayed") == "true"  # noqa: SLF001
    return invoice


def bare(kind: type[M]) -> Callable[[httpx.Response], M]:
    """An answer that is the object itself, not wrapped in `data` (/v1/invoices/validate)."""
    return lambda response: kind.model_validate(response.json())


def models(kind: type[M]) -> Callable[[httpx.Response], list[M]]:
    adapter = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return data_of(adapter)


def page(kind: type[M]) -> Callable[[httpx.Response], Page[M]]:
    return lambda response: Page[kind].model_validate(response.json())  # type: ignore[valid-type]


def document(response: httpx.Response) -> Document:
    disposition = response.headers.get("content-disposition", "")
    filename = None
    if "filename=" in disposition:
        filename = disposition.split("filename=", 1)[1].split(";")[0].strip().strip('"')
    return Document(
        content=response.content,
        media_type=response.headers.get("content-type", "application/octet-stream").split(";")[0],
        format=response.headers.get("x-clearway-format"),
        filename=filename,
    )
