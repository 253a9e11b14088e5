"""One error body everywhere: ``{"error": code, "message": text, "details": [...]}``; pages get an HTML page."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskdesk.errors import DomainError, ErrorDetail, TooManyAttempts, details_from_pydantic
from riskdesk.web.deps import PageAuthRequired

log = structlog.get_logger("riskdesk.web")


def error_body(code: str, message: str, details: list[ErrorDetail] | None = None) -> dict[str, Any]:
    return {"error": code, "message": message, "details": [d.as_dict() for d in details or []]}


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and request.url.path != "/healthz"


def _page_error(request: Request, status_code: int, title: str, message: str) -> Response:
    from riskdesk.web.templating import render

    return render(request, "error.html", {"title": title, "message": message}, status_code=status_code)


def install(app: FastAPI) -> None:
    @app.exception_handler(PageAuthRequired)
    async def _login_first(request: Request, exc: PageAuthRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        if request.headers.get("hx-request"):
            return Response(status_code=401, headers={"HX-Redirect": f"/login?next={quote(target)}"})
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        headers = {}
        if isinstance(exc, TooManyAttempts):
            headers["Retry-After"] = str(exc.retry_after_seconds)
        if exc.status_code in (401,):
            headers["WWW-Authenticate"] = "Bearer"
        if _wants_html(request):
            titles = {403: "Permission denied", 404: "Not found"}
            return _page_error(
                request, exc.status_code, titles.get(exc.status_code, "Something went wrong"), exc.message
            )
        return JSONResponse(
            error_body(exc.code, exc.message, exc.details), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        details = details_from_pydantic(exc.errors())
        summary = "; ".join(f"{d.field or 'body'}: {d.reason}" for d in details[:5])
        return JSONResponse(
            error_body("validation_failed", f"the request is not valid — {summary}", details), status_code=422
        )

    @app.exception_handler(ValidationError)
    async def _invalid_model(request: Request, exc: ValidationError) -> Response:
        details = details_from_pydantic(exc.errors())
        summary = "; ".join(f"{d.field or 'body'}: {d.reason}" for d in details[:5])
        return JSONResponse(
            error_body("validation_failed", f"the input is not valid — {summary}", details), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
        code = codes.get(exc.status_code, "http_error")
        message = {
            404: f"nothing is at {request.url.path}; the API is described at /api/openapi.json",
            405: f"{request.method} is not allowed on {request.url.path}",
        }.get(exc.status_code, str(exc.detail))
        if _wants_html(request) and exc.status_code == 404:
            return _page_error(request, 404, "Not found", message)
        return JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=getattr(exc, "headers", None)
        )

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Services check uniqueness first; this answers the rare race where two requests pass that check at once.
        log.warning("request.integrity_conflict", path=request.url.path, error=str(exc.orig)[:200])
        message = "the change conflicts with a record saved at the same moment; nothing was saved — reload and retry"
        if _wants_html(request):
            return _page_error(request, 409, "Something went wrong", message)
        return JSONResponse(error_body("conflict", message), status_code=409)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        request_id = getattr(request.state, "request_id", "")
        log.exception("request.failed", path=request.url.path)
        message = (
            f"riskdesk could not complete the request; nothing was saved. Quote request id {request_id} to support"
        )
        if _wants_html(request):
            return _page_error(request, 500, "Something went wrong", message)
        return JSONResponse(error_body("internal_error", message), status_code=500)
