"""Browser-facing protections shared by every page: security headers, cookies, CSRF.

- **Headers** on every response (a pure ASGI middleware, so the API pays no per-request
  wrapper): a strict Content Security Policy (only Confiance's own files, no inline script, no
  framing), ``nosniff``, no referrer, no powerful browser features, HSTS on HTTPS.
- **Cookies**: ``HttpOnly``, ``SameSite=Strict``, path-limited; ``Secure`` (and the ``__Host-``
  prefix) whenever the page is served over HTTPS. Plain HTTP is accepted on the loopback
  interface only, for the demo.
- **CSRF**: every form carries a token bound to the session (or, before sign-in, to a
  ``SameSite=Strict`` cookie); a POST is refused unless it matches, and unless the browser says
  it comes from the same origin (``Sec-Fetch-Site``, else ``Origin``).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from confiance.crypto.derived import same_digest
from confiance.errors import ConfianceError

__all__ = [
    "CSP",
    "CsrfRejected",
    "SecurityHeaders",
    "check_csrf",
    "cookie_name",
    "form_token",
    "set_cookie",
]

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
    "base-uri 'none'; object-src 'none'"
)
_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=63072000; includeSubDomains")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in _HEADERS if n not in present]
                if https:
                    extra.append(_HSTS)
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)


class CsrfRejected(ConfianceError):
    code = "csrf-rejected"
    status = 403
    title = "This form cannot be accepted"

    def __init__(self) -> None:
        super().__init__(
            "The form was sent from another site, or it has expired: reload the page and try again."
        )


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def cookie_name(request: Request, base: str) -> str:
    """``__Host-`` names need ``Secure``: they are used whenever the page is on HTTPS."""
    return f"__Host-{base}" if _secure(request) else base


def set_cookie(
    response: Response, request: Request, base: str, value: str, *, max_age: int | None = None
) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def form_token(request: Request, response: Response | None = None) -> str:
    """The CSRF token for forms shown before sign-in: kept in a cookie, echoed in the form."""
    existing = request.cookies.get(cookie_name(request, "csrf"))
    if existing:
        return existing
    token = secrets.token_urlsafe(32)
    request.state.new_csrf_cookie = token
    if response is not None:
        set_cookie(response, request, "csrf", token)
    return token


def _same_origin(request: Request) -> bool:
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        # Neither header: not a browser of this decade; the token still has to match.
        return True
    expected = f"{request.url.scheme}://{request.url.netloc}"
    return origin == expected


def check_csrf(request: Request, submitted: str | None, expected: str | None) -> None:
    """Refuse a form post from another site or without the right token."""
    if not _same_origin(request):
        raise CsrfRejected()
    if not submitted or not expected or not same_digest(submitted.encode(), expected.encode()):
        raise CsrfRejected()
