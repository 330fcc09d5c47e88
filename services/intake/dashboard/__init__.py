"""The dashboard: server-rendered pages for the people behind an API key, served by intake at
/dashboard. Each page asks the API in process with the session's key (api.py), so it shows
what the API shows that key and nothing else. docs/dashboard.md describes it."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from services.intake.dashboard import connections, invoices, pages, received, signin, webhooks

router = APIRouter(prefix="/dashboard", include_in_schema=False)


@router.get("")
async def home() -> RedirectResponse:
    return pages.see_other("/dashboard/invoices")


for pages_of_one_kind in (signin, invoices, connections, webhooks, received):
    router.include_router(pages_of_one_kind.router)


def install_dashboard(app: FastAPI) -> None:
    pages.install(app)
    app.include_router(router)
    app.mount("/dashboard/static", StaticFiles(directory=pages.HERE / "static"), name="static")
