"""What every dashboard page shares: the signed-in session with its in-process API, the CSRF
check of every form, rendering (Jinja2, autoescaped) and the answers' security headers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from services.intake.dashboard.api import Api, ApiRefusalError, api_as
from services.intake.dashboard.session import Session, end_session, session_of, tokens_match

HERE = Path(__file__).parent
# Starlette's Jinja2Templates autoescapes .html templates: every value they print is escaped.
templates = Jinja2Templates(directory=HERE / "templates")

# Fixed messages a redirect may ask a page to show (?notice=…): no caller's text in a URL.
NOTICES = {
    "signed-out": "You are signed out.",
    "connected": "The connection is active.",
    "connection-deleted": "The connection was deleted.",
    "company-added": "The company was added.",
    "sent": "The test invoice was sent; its status follows below as it moves.",
    "endpoint-disabled": "The endpoint is disabled: nothing is sent to it.",
    "endpoint-enabled": "The endpoint is enabled again.",
    "test-sent": "A test event is on its way to the endpoint.",
    "replayed": "The delivery is being sent again.",
}

SECURITY_HEADERS = {
    # No inline script or style anywhere: a script that slipped into a page would not run.
    # form-action: also where a form's answer may redirect, ANAF's consent page for RO's
    # "Connect" (https; the simulator's on this machine in the sandbox).
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self' https: http://127.0.0.1:* http://localhost:*; "
    "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages show invoices and, once, webhook secrets
}


class SignInRequiredError(Exception):
    """No session, or the API no longer takes its key."""


class CsrfRefusedError(Exception):
    """A form without this session's CSRF token."""


@dataclass(frozen=True)
class SignedIn:
    session: Session
    api: Api


async def _signed_in(request: Request) -> AsyncIterator[SignedIn]:
    session = await session_of(request)
    if session is None:
        raise SignInRequiredError
    async with api_as(request, session.api_key) as api:
        yield SignedIn(session, api)


User = Annotated[SignedIn, Depends(_signed_in)]


async def form_of(request: Request, user: SignedIn) -> FormData:
    """The form's fields, once its CSRF token is this session's."""
    form = await request.form()
    if not tokens_match(user.session.csrf_token, form.get("csrf_token")):
        raise CsrfRefusedError
    return form


def field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def render(
    request: Request,
    template: str,
    session: Session | None,
    status_code: int = 200,
    **context: Any,
) -> Response:
    """`template` with the layout's context: the mode and CSRF token of `session` (None: a
    page shown signed out)."""
    notice = NOTICES.get(request.query_params.get("notice", ""))
    return templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "csrf_token": session.csrf_token if session else None,
            "notice": notice,
            **context,
        },
        status_code=status_code,
    )


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def install(app: FastAPI) -> None:
    """The dashboard's exception handlers and headers on the intake app."""

    async def sign_in_required(_request: Request, _: Exception) -> Response:
        response = see_other("/dashboard/sign-in")
        end_session(response)
        return response

    async def csrf_refused(request: Request, _: Exception) -> Response:
        message = "This form has expired or did not come from this dashboard; reload the page."
        return render(request, "error.html", None, 403, message=message)

    async def api_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiRefusalError)
        if exc.status_code == 401:
            return await sign_in_required(request, exc)
        return render(
            request, "error.html", await session_of(request), exc.status_code, message=exc.message
        )

    app.add_exception_handler(SignInRequiredError, sign_in_required)
    app.add_exception_handler(CsrfRefusedError, csrf_refused)
    app.add_exception_handler(ApiRefusalError, api_refused)

    @app.middleware("http")
    async def dashboard_headers(request: Request, call_next: Any) -> Any:
        response = await call_next(request)
        if request.url.path.startswith("/dashboard"):
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response
