"""Rendering of the server-side pages (privacy center and staff console).

Pages are another adapter over the same services as the API: a page route checks who is
asking, validates the form, calls one service verb and renders a template. They work without
JavaScript; every asset comes from Confiance itself (``/static``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse

from confiance import __version__
from confiance.errors import ConfianceError
from confiance.web import i18n
from confiance.web.security import set_cookie

__all__ = ["PAGE_PREFIXES", "env", "error_page", "redirect", "render"]

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
#: Paths served as pages: errors there are shown as a page, not as problem+json.
PAGE_PREFIXES = ("/privacy", "/console")

env = Environment(
    loader=FileSystemLoader(
        [TEMPLATES, Path(__file__).resolve().parents[1] / "rights" / "templates"]
    ),
    autoescape=select_autoescape(default=True, default_for_string=True),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
env.install_gettext_callables(  # type: ignore[attr-defined]
    lambda s: s, lambda s, p, n: s if n == 1 else p, newstyle=True
)


def _finish(request: Request, response: HTMLResponse | RedirectResponse) -> None:
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        set_cookie(response, request, "lang", asked, max_age=365 * 24 * 3600)
    new_csrf = getattr(request.state, "new_csrf_cookie", None)
    if new_csrf:
        set_cookie(response, request, "csrf", new_csrf)
    response.headers["Cache-Control"] = "no-store"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HTMLResponse:
    language = i18n.language_of(request)
    translations = i18n.translations(language)
    values = {
        "request": request,
        "lang": language,
        "other_lang": "en" if language == "fr" else "fr",
        "version": __version__,
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
        "_": translations.gettext,
        **(context or {}),
    }
    html = env.get_template(template).render(values)
    response = HTMLResponse(html, status_code=status)
    _finish(request, response)
    return response


def redirect(request: Request, url: str) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    _finish(request, response)
    return response


def error_page(request: Request, exc: ConfianceError) -> HTMLResponse:
    return render(
        request,
        "error.html",
        {
            "status": exc.status,
            "title": exc.title,
            "detail": exc.detail,
            "code": exc.code,
            "home": "/console" if request.url.path.startswith("/console") else "/privacy",
        },
        status=exc.status,
    )
