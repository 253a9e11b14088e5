"""Request-scoped dependencies: the container, one unit of work, who is asking, and what they may do."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.errors import AuthenticationRequired, PermissionDenied
from riskdesk.security import service as security
from riskdesk.security.permissions import Permission
from riskdesk.security.service import Principal

log = structlog.get_logger("riskdesk.web")

SESSION_COOKIE = "rd_session"
LANG_COOKIE = "rd_lang"
LOGIN_CSRF_COOKIE = "rd_login_csrf"


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


def get_db(container: ContainerDep) -> Iterator[Session]:
    """One transaction per request: committed when the endpoint returns, rolled back when it raises."""
    session = container.session_factory()
    try:
        yield session
        container.dispatch_events(session)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit happens before the response is sent, so a failed commit is never reported as
# a success to the client.
SessionDep = Annotated[Session, Depends(get_db, scope="function")]


class PageAuthRequired(AuthenticationRequired):
    """Raised by page dependencies so the error handler redirects to the login form instead of answering JSON."""


def _principal_from_request(request: Request, session: Session) -> Principal | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return security.resolve_token(
            session, secret=credentials.strip(), pepper=request.app.state.container.token_pepper
        )
    if authorization:
        raise AuthenticationRequired("use 'Authorization: Bearer <token>'; make a token with `riskdesk tokens create`")
    return None


def api_principal(request: Request, session: SessionDep) -> Principal:
    principal = _principal_from_request(request, session)
    if principal is None:
        raise AuthenticationRequired(
            "this endpoint needs 'Authorization: Bearer <token>'; make one with `riskdesk tokens create USERNAME`"
        )
    request.state.principal = principal
    return principal


async def read_form(request: Request) -> FormData:
    """The parsed form of a form or multipart request (empty otherwise), read on the event loop.

    Everything that touches the database runs in the threadpool instead: a blocking database call on the event
    loop would stall every request behind SQLite's write lock (decision 0003).
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return FormData()
    return await request.form(max_part_size=request.app.state.container.settings.max_upload_bytes)


FormDep = Annotated[FormData, Depends(read_form)]


def form_text(form: FormData) -> dict[str, str]:
    """The text fields of a form (files left out)."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def page_principal(request: Request, session: Session, form: FormData) -> Principal:
    cookie = request.cookies.get(SESSION_COOKIE)
    resolved = (
        security.resolve_web_session(session, secret=cookie, pepper=request.app.state.container.token_pepper)
        if cookie
        else None
    )
    if resolved is None:
        raise PageAuthRequired("please sign in")
    principal, web_session = resolved
    request.state.principal = principal
    request.state.csrf_token = web_session.csrf_token
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        check_csrf(request, form, web_session.csrf_token)
    return principal


def check_csrf(request: Request, form: FormData, expected: str) -> None:
    """Unsafe page requests carry the session's CSRF token in the form or in the X-CSRF-Token header."""
    field = form.get("csrf_token")
    sent = request.headers.get("x-csrf-token", "") or (field if isinstance(field, str) else "")
    if not hmac.compare_digest(sent, expected):
        raise PermissionDenied(
            "the form has expired or did not come from riskdesk (CSRF check); reload the page and try again"
        )


class RequirePermission:
    """A dependency that admits only principals holding ``permission``. The route matrix test reads it."""

    def __init__(self, permission: Permission, *, page: bool) -> None:
        self.permission = permission
        self.page = page

    def __call__(self, request: Request, session: SessionDep, form: FormDep) -> Principal:
        # A plain def: FastAPI runs it in the threadpool, never on the event loop (see read_form).
        principal = page_principal(request, session, form) if self.page else api_principal(request, session)
        if not principal.can(self.permission):
            log.warning(
                "permission.denied",
                username=principal.username,
                role=principal.role.value,
                permission=self.permission.value,
                path=request.url.path,
                method=request.method,
            )
            raise PermissionDenied(
                f"your role ({principal.role.value}) does not have the permission {self.permission.value};"
                " ask an admin if your work needs it"
            )
        return principal


def require(permission: Permission) -> Any:
    """For API routes: ``principal: Annotated[Principal, require(Permission.customers_read)]``."""
    return Depends(RequirePermission(permission, page=False))


def require_page(permission: Permission) -> Any:
    return Depends(RequirePermission(permission, page=True))


def actor_of(request: Request, principal: Principal) -> Actor:
    return Actor(principal.username, getattr(request.state, "request_id", ""))
