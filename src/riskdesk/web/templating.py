"""Jinja2 rendering with the reader's language, identity and CSRF token in every template."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from riskdesk.security.permissions import Permission
from riskdesk.web.deps import LANG_COOKIE
from riskdesk.web.i18n import pick_language, translate

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["P"] = Permission


def language_of(request: Request) -> str:
    return pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status_code: int = 200
) -> HTMLResponse:
    lang = language_of(request)

    def _(text: str, **values: Any) -> str:
        translated = translate(text, lang)
        return translated % values if values else translated

    full = {
        "request": request,
        "lang": lang,
        "_": _,
        "principal": getattr(request.state, "principal", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, full, status_code=status_code)
