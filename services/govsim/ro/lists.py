"""The simulated ANAF's message lists: listaMesajeFactura (the last 1 to 60 days) and
listaMesajePaginatieFactura (an interval, 500 rows a page), with their refusals and quotas."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.govsim.ro.documents import normalize_cif
from services.govsim.ro.http import admit, bad_request, spring_time
from services.govsim.ro.oauth import Grant
from services.govsim.ro.state import (
    JAVA_LONG,
    LIST_FILTERS,
    LIST_MAX_DAYS,
    LIST_PAGE_SIZE,
    PAGED_LISTS_PER_CIF_PER_DAY,
    SECONDS_PER_DAY,
    SIMPLE_LISTS_PER_CIF_PER_DAY,
    AnafSimulator,
    ListedMessage,
)


class ListQuery(BaseModel):
    zile: str | None = None
    cif: str | None = None
    filtru: str | None = None


class PagedListQuery(BaseModel):
    start_time: str | None = Field(default=None, alias="startTime")
    end_time: str | None = Field(default=None, alias="endTime")
    cif: str | None = None
    pagina: str | None = None
    filtru: str | None = None


def add_list_routes(router: APIRouter, simulator: AnafSimulator, environment: str) -> None:
    @router.get("/listaMesajeFactura")
    def message_list(request: Request, query: Annotated[ListQuery, Query()]) -> Response:
        grant = admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if query.zile is None or query.cif is None:
            return bad_request(simulator, "Parametrii zile si cif sunt obligatorii")
        return JSONResponse(_message_list(simulator, environment, grant, query))

    @router.get("/listaMesajePaginatieFactura")
    def paged_message_list(request: Request, query: Annotated[PagedListQuery, Query()]) -> Response:
        grant = admit(simulator, request)
        if isinstance(grant, Response):
            return grant
        if None in (query.start_time, query.end_time, query.cif, query.pagina):
            return bad_request(
                simulator, "Parametrii startTime, endTime, cif si pagina sunt obligatorii"
            )
        return JSONResponse(_paged_message_list(simulator, environment, grant, query))


# --- listaMesajeFactura and listaMesajePaginatieFactura --------------------------------------


def _list_refused(reason: str) -> dict[str, Any]:
    return {"eroare": reason, "titlu": "Lista Mesaje"}


def _message_list(
    simulator: AnafSimulator, environment: str, grant: Grant, query: ListQuery
) -> dict[str, Any]:
    raw_days, given = query.zile or "", query.cif or ""
    cif = normalize_cif(given)
    refusal = _days_refusal(raw_days) or _list_refusal(
        grant, given, query.filtru, non_numeric_cif=f"CIF introdus= {given} nu este un numar"
    )
    if refusal is None and simulator.count_today("lista", cif) > SIMPLE_LISTS_PER_CIF_PER_DAY:
        refusal = (
            f"S-au facut deja {SIMPLE_LISTS_PER_CIF_PER_DAY} interogari de lista mesaje "
            "de catre utilizator in cursul zilei"
        )
    if refusal is not None:
        return _list_refused(refusal)
    days = int(raw_days)
    since = simulator.clock() - days * SECONDS_PER_DAY
    rows = [
        row
        for row in _filtered(simulator.listed_messages(cif, environment), query.filtru)
        if row.created_at >= since
    ]
    if not rows:
        return _list_refused(f"Nu exista mesaje in ultimele {days} zile")
    if len(rows) > LIST_PAGE_SIZE:
        return _list_refused(
            f"Lista de mesaje este mai mare decat numarul de {LIST_PAGE_SIZE} elemente permise "
            "in pagina. Folositi endpoint-ul cu paginatie."
        )
    return {
        "mesaje": [_row_json(simulator, row) for row in rows],
        "serial": grant.certificate_serial,
        "cui": cif,
        "titlu": f"Lista Mesaje disponibile din ultimele {days} zile",
    }


def _days_refusal(raw_days: str) -> str | None:
    if not JAVA_LONG.fullmatch(raw_days):
        return f"Numarul de zile introdus= {raw_days} nu este un numar intreg"
    if not 1 <= int(raw_days) <= LIST_MAX_DAYS:
        return f"Numarul de zile trebuie sa fie intre 1 si {LIST_MAX_DAYS}"
    return None


def _paged_message_list(
    simulator: AnafSimulator, environment: str, grant: Grant, query: PagedListQuery
) -> dict[str, Any]:
    cif = normalize_cif(query.cif or "")
    refusal = _paged_query_refusal(simulator, grant, query)
    if refusal is None and simulator.count_today("lista-paginata", cif) > (
        PAGED_LISTS_PER_CIF_PER_DAY
    ):
        refusal = (
            f"S-au facut deja {PAGED_LISTS_PER_CIF_PER_DAY} interogari de lista mesaje "
            "de catre utilizator in cursul zilei"
        )
    if refusal is not None:
        return _list_refused(refusal)
    start, end = int(query.start_time or 0) / 1000, int(query.end_time or 0) / 1000
    page = int(query.pagina or 1)
    rows = [
        row
        for row in _filtered(simulator.listed_messages(cif, environment), query.filtru)
        if start <= row.created_at <= end
    ]
    if not rows:
        return _list_refused("Nu exista mesaje in intervalul selectat")
    pages = (len(rows) + LIST_PAGE_SIZE - 1) // LIST_PAGE_SIZE
    if page > pages:
        return _list_refused(
            f"Pagina solicitata {page} este mai mare decat numarul toatal de pagini {pages}"
        )
    page_rows = rows[(page - 1) * LIST_PAGE_SIZE : page * LIST_PAGE_SIZE]
    return {
        "mesaje": [_row_json(simulator, row) for row in page_rows],
        "numar_inregistrari_in_pagina": len(page_rows),
        "numar_total_inregistrari_per_pagina": LIST_PAGE_SIZE,
        "numar_total_inregistrari": len(rows),
        "numar_total_pagini": pages,
        "index_pagina_curenta": page,
        "serial": grant.certificate_serial,
        "cui": cif,
        "titlu": (
            "Lista Mesaje disponibile din intervalul "
            f"{spring_time(simulator, start)} - {spring_time(simulator, end)}"
        ),
    }


def _paged_query_refusal(
    simulator: AnafSimulator, grant: Grant, query: PagedListQuery
) -> str | None:
    cif = query.cif or ""
    for name, value in (
        ("startTime", query.start_time or ""),
        ("endTime", query.end_time or ""),
        ("pagina", query.pagina or ""),
    ):
        if not value.isdigit() or (name == "pagina" and int(value) < 1):
            return f"{name} = {value} nu este un numar sau nu are o valoare acceptata de sistem"
    start, end = int(query.start_time or 0) / 1000, int(query.end_time or 0) / 1000
    return _window_refusal(simulator, start, end) or _list_refusal(
        grant,
        cif,
        query.filtru,
        non_numeric_cif=(
            f"CIF introdus= {cif} nu este un numar sau nu are o valoare acceptata de sistem"
        ),
    )


def _window_refusal(simulator: AnafSimulator, start: float, end: float) -> str | None:
    now = simulator.clock()
    if start < now - LIST_MAX_DAYS * SECONDS_PER_DAY:
        return (
            f"startTime = {spring_time(simulator, start)} nu poate fi mai vechi de "
            f"{LIST_MAX_DAYS} de zile fata de momentul requestului"
        )
    if end <= start:
        return (
            f"endTime = {spring_time(simulator, end)} nu poate fi <= "
            f"startTime = {spring_time(simulator, start)}"
        )
    if end > now:
        return (
            f"endTime = {spring_time(simulator, end)} nu poate in viitor fata de "
            "momentul requestului"
        )
    return None


def _list_refusal(
    grant: Grant, cif: str, list_filter: str | None, *, non_numeric_cif: str
) -> str | None:
    """`cif` as the caller gave it: with or without RO, echoed as given."""
    digits = normalize_cif(cif)
    if not digits.isdigit():
        return non_numeric_cif
    if list_filter is not None and list_filter not in LIST_FILTERS:
        return "Valorile acceptate pentru parametrul filtru sunt E, T, P sau R"
    if not grant.has_any_cif:
        return "Nu exista niciun CIF pentru care sa aveti drept in SPV"
    if not grant.may_act_for(digits):
        return f"Nu aveti drept in SPV pentru CIF={cif}"
    return None


def _filtered(rows: list[ListedMessage], list_filter: str | None) -> list[ListedMessage]:
    if list_filter is None:
        return rows
    kinds = LIST_FILTERS[list_filter]
    return [row for row in rows if row.kind in kinds]


def _row_json(simulator: AnafSimulator, row: ListedMessage) -> dict[str, str]:
    return {
        "data_creare": simulator.minute_stamp(row.created_at),
        "cif": row.cif,
        "id_solicitare": str(row.upload_index),
        "detalii": row.details,
        "tip": row.kind.value,
        "id": str(row.download_id),
    }
