"""Sign-in, sign-out, language switch and the admin's user page."""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from riskdesk.errors import AuthenticationRequired, DomainError, TooManyAttempts
from riskdesk.security import service
from riskdesk.security.permissions import Permission, Role
from riskdesk.security.service import Principal
from riskdesk.web.deps import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ContainerDep,
    FormDep,
    SessionDep,
    actor_of,
    require_page,
)
from riskdesk.web.i18n import LANGUAGES, translate
from riskdesk.web.templating import language_of, render

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    # Only same-site paths: "//evil.example" and absolute URLs would turn sign-in into an open redirect.
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/customers"


def _login_page(
    request: Request, *, next_url: str, error: str = "", status_code: int = 200, username: str = ""
) -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        {"next": next_url, "error": error, "login_csrf": token, "username": username},
        status_code=status_code,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login")
def login_form(request: Request, next: Annotated[str, Query(max_length=500)] = "/customers") -> Response:
    return _login_page(request, next_url=_safe_next(next))


@router.post("/login")
def login(request: Request, form: FormDep, session: SessionDep, container: ContainerDep) -> Response:
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    next_url = _safe_next(str(form.get("next", "")))
    lang = language_of(request)
    # Double-submit check: the form's token must equal the cookie set with the form.
    if not hmac.compare_digest(str(form.get("login_csrf", "")), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        return _login_page(
            request, next_url=next_url, error="The form has expired; please sign in again.", status_code=403
        )
    settings = container.settings
    try:
        principal = service.authenticate(
            session,
            username=username,
            password=password,
            passwords=container.passwords,
            client_ip=request.client.host if request.client else "",
            max_failures=settings.login_max_failures,
            lockout_minutes=settings.login_lockout_minutes,
            request_id=getattr(request.state, "request_id", ""),
        )
    except TooManyAttempts:
        session.commit()
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=429,
            error=translate("Too many failed sign-ins. Try again later.", lang),
        )
    except AuthenticationRequired:
        session.commit()  # keep the failed attempt and its ledger entry
        return _login_page(
            request,
            next_url=next_url,
            username=username,
            status_code=401,
            error=translate("The username or password is wrong.", lang),
        )
    _, secret = service.start_web_session(
        session, principal=principal, hours=settings.session_hours, pepper=container.token_pepper
    )
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    principal: Annotated[Principal, require_page(Permission.desk_use)],
) -> Response:
    service.end_web_session(
        session,
        secret=request.cookies.get(SESSION_COOKIE, ""),
        actor=actor_of(request, principal),
        pepper=container.token_pepper,
    )
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}")
def switch_language(code: str, next: Annotated[str, Query(max_length=500)] = "/customers") -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


Admin = Annotated[Principal, require_page(Permission.users_manage)]


def _users_page(
    request: Request, session: SessionDep, *, error: str = "", new_token: str = "", status_code: int = 200
) -> Response:
    return render(
        request,
        "admin/users.html",
        {
            "users": service.list_users(session),
            "tokens": service.list_tokens(session),
            "roles": list(Role),
            "error": error,
            "new_token": new_token,
        },
        status_code=status_code,
    )


@router.get("/admin/users")
def users_page(request: Request, session: SessionDep, principal: Admin) -> Response:
    return _users_page(request, session)


@router.post("/admin/users")
def users_create(
    request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Admin
) -> Response:
    role = str(form.get("role", ""))
    if role not in {r.value for r in Role}:
        return _users_page(request, session, error=f"role {role!r} is not one of the listed roles", status_code=422)
    try:
        with session.begin_nested():
            service.create_user(
                session,
                username=str(form.get("username", "")),
                role=Role(role),
                password=str(form.get("password", "")),
                passwords=container.passwords,
                min_length=container.settings.password_min_length,
                actor=actor_of(request, principal),
                display_name=str(form.get("display_name", "")),
            )
    except DomainError as exc:
        return _users_page(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/users/{username}/active")
def users_toggle(username: str, request: Request, form: FormDep, session: SessionDep, principal: Admin) -> Response:
    active = str(form.get("active", "")) == "1"
    try:
        service.set_active(session, username=username, active=active, actor=actor_of(request, principal))
    except DomainError as exc:
        return _users_page(request, session, error=exc.message, status_code=exc.status_code)
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/admin/tokens")
def tokens_create(
    request: Request, form: FormDep, session: SessionDep, container: ContainerDep, principal: Admin
) -> Response:
    """The new token is shown on this one response and never again."""
    days_text = str(form.get("days", "")).strip()
    if days_text and not days_text.isdigit():
        return _users_page(request, session, error="days must be a whole number", status_code=422)
    try:
        with session.begin_nested():
            _, secret = service.create_token(
                session,
                username=str(form.get("username", "")),
                days=int(days_text) if days_text else container.settings.token_days,
                name=str(form.get("name", ""))[:128],
                actor=actor_of(request, principal),
                pepper=container.token_pepper,
            )
    except DomainError as exc:
        return _users_page(request, session, error=exc.message, status_code=exc.status_code)
    response = _users_page(request, session, new_token=secret)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/tokens/{token_id}/revoke")
def tokens_revoke(token_id: int, request: Request, session: SessionDep, principal: Admin) -> Response:
    service.revoke_token(session, token_id=token_id, actor=actor_of(request, principal))
    return RedirectResponse("/admin/users#tokens", status_code=303)
