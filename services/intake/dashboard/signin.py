"""Sign-in with an API key, and sign-out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.intake.dashboard.api import ApiRefusalError, api_as
from services.intake.dashboard.pages import User, field, form_of, render, see_other
from services.intake.dashboard.session import (
    SIGN_IN_CSRF_COOKIE,
    close_session,
    end_session,
    new_session,
    remember_sign_in_token,
    session_of,
    sign_in_token,
    start_session,
    tokens_match,
)

router = APIRouter()


def _sign_in_page(request: Request, error: str | None = None, status_code: int = 200) -> Response:
    token = sign_in_token(request)
    response = render(
        request, "sign_in.html", None, status_code, error=error, sign_in_csrf_token=token
    )
    remember_sign_in_token(response, token)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    if await session_of(request) is not None:
        return see_other("/dashboard/invoices")
    return _sign_in_page(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    if not tokens_match(request.cookies.get(SIGN_IN_CSRF_COOKIE), form.get("csrf_token")):
        return _sign_in_page(request, "This form has expired; please try again.", 403)
    api_key = field(form, "api_key")
    if not api_key.startswith(("sk_test_", "sk_live_")):
        return _sign_in_page(request, "An API key starts with sk_test_ or sk_live_.", 401)
    session = None
    try:
        async with api_as(request, api_key) as api:
            await api.get("/v1/companies")
        session = await new_session(request, api_key)
    except ApiRefusalError as refusal:
        if refusal.status_code != 401:
            raise
    if session is None:
        return _sign_in_page(request, "This API key is not valid.", 401)
    response = see_other("/dashboard/invoices")
    start_session(response, session)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, user: User) -> Response:
    await form_of(request, user)
    # The row goes: a copy of the cookie taken earlier opens nothing from now on.
    await close_session(request, user.session)
    response = see_other("/dashboard/sign-in?notice=signed-out")
    end_session(response)
    return response
