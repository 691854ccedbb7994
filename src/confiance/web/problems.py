"""RFC 9457 problem details for every error the API returns.

Validation errors are rendered without the rejected input: a request body holds personal data,
and an error response (or a log line made from it) must not echo it back.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from confiance.errors import ConfianceError

__all__ = ["PROBLEM_JSON", "install", "problem_response"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


def _response(problem: dict[str, Any]) -> JSONResponse:
    return JSONResponse(problem, status_code=problem["status"], media_type=PROBLEM_JSON)


def problem_response(exc: ConfianceError, *, instance: str) -> JSONResponse:
    """The API's answer to a domain error (also sent by the consent fast lane)."""
    _log(exc)
    return _response(exc.to_problem(instance=instance))


def _log(exc: ConfianceError) -> None:
    if exc.status >= 500:
        log.error("request failed: %s (%s)", exc.code, type(exc).__name__)


def _is_page(request: Request) -> bool:
    from confiance.web.pages import PAGE_PREFIXES

    return request.url.path.startswith(PAGE_PREFIXES)


#: Errors that mean "sign in first": a page answers them by sending the browser to sign in.
_SIGN_IN = {"not-signed-in": "/privacy/sign-in", "session-expired": "/console/login"}


def install(app: FastAPI) -> None:
    @app.exception_handler(ConfianceError)
    async def _domain(request: Request, exc: ConfianceError) -> Response:
        if _is_page(request):
            _log(exc)
            from confiance.web import pages

            if exc.code in _SIGN_IN:
                return pages.redirect(request, _SIGN_IN[exc.code])
            return pages.error_page(request, exc)
        return problem_response(exc, instance=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": [str(p) for p in err.get("loc", ())],
                "message": err.get("msg", "invalid"),
                "type": err.get("type", "invalid"),
            }
            for err in exc.errors()
        ]
        return _response(
            {
                "type": "https://confiance.example/problems/validation-failed",
                "title": "The request is not valid",
                "status": 422,
                "detail": "; ".join(f"{'.'.join(e['location'])}: {e['message']}" for e in errors),
                "code": "validation-failed",
                "instance": request.url.path,
                "errors": errors,
            }
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _response(
            {
                "type": "about:blank",
                "title": str(exc.detail),
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            }
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # The exception text may hold values; log only its type.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        return _response(
            {
                "type": "https://confiance.example/problems/internal",
                "title": "Internal error",
                "status": 500,
                "detail": "The request could not be completed; nothing was changed.",
                "code": "internal",
                "instance": request.url.path,
            }
        )
