"""Who may see and change what: the token, the sign-in cookie, CSRF tokens, read-only mode.

With a token, every page and action needs it: as `Authorization: Bearer` (API clients), or as a
session cookie a browser gets by signing in once. The cookie holds an HMAC of the token, not the
token, so changing the token signs every browser out. Forms carry a CSRF token that must match a
random cookie of the browser (double submit); both cookies are HttpOnly and SameSite=Strict.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

SESSION_COOKIE = "hasched_session"
CSRF_COOKIE = "hasched_csrf"
CSRF_FIELD = "csrf"
MAX_FORM_BYTES = 16 * 1024
# Pages anyone may load: the sign-in form and the stylesheet and script it needs.
OPEN_PATHS = ("/login", "/static/")
SECURITY_HEADERS = {
    # No inline script or style anywhere: an injected <script> would not run even if it got in.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True, slots=True)
class Access:
    """The UI's access settings."""

    token: str | None
    read_only: bool

    @property
    def session(self) -> str:
        """The sign-in cookie's value: derived from the token, useless without it."""
        assert self.token is not None
        return hmac.new(self.token.encode(), b"hasched-web-session-v1", hashlib.sha256).hexdigest()

    def signed_in(self, request: Request) -> bool:
        """No token configured, a matching bearer token, or a valid session cookie."""
        if self.token is None:
            return True
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and given:
            return self.token_ok(given.strip())
        return hmac.compare_digest(request.cookies.get(SESSION_COOKIE, ""), self.session)

    def token_ok(self, given: str) -> bool:
        assert self.token is not None
        return hmac.compare_digest(given.encode(), self.token.encode())


def root(request: Request) -> str:
    """The path the UI is mounted under ("" at the top of a server)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def local_path(request: Request) -> str:
    """The request's path inside the UI, without the mount prefix."""
    path, prefix = request.url.path, root(request)
    return path[len(prefix) :] if prefix and path.startswith(prefix) else path


def csrf_of(request: Request) -> str:
    """This browser's CSRF token (made on its first visit and set as a cookie by `guard`)."""
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if not token:
        token = request.state.new_csrf = secrets.token_urlsafe(32)
    return str(token)


async def read_form(request: Request) -> dict[str, str]:
    """The posted url-encoded form, after checking its CSRF token (403 when missing or wrong).

    A client that authenticated with a bearer token needs none: a browser never adds that header
    to a request another site makes it send.
    """
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return form
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not hmac.compare_digest(form.get(CSRF_FIELD, "").encode(), expected.encode()):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")
    return form


def set_cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(
        name, value, path=root(request) or "/", httponly=True, samesite="strict",
        secure=request.url.scheme == "https",
    )  # fmt: skip


Next = Callable[[Request], Awaitable[Response]]


def guard(access: Access) -> Callable[[Request, Next], Awaitable[Response]]:
    """The middleware: sign-in, read-only, the CSRF cookie and the security headers."""

    async def dispatch(request: Request, call_next: Next) -> Response:
        response = await _checked(access, request, call_next)
        new_csrf = getattr(request.state, "new_csrf", None)
        if new_csrf:
            set_cookie(response, request, CSRF_COOKIE, new_csrf)
        response.headers.update(SECURITY_HEADERS)
        return response

    return dispatch


async def _checked(access: Access, request: Request, call_next: Next) -> Response:
    path = local_path(request)
    if path.startswith(OPEN_PATHS):
        return await call_next(request)
    if not access.signed_in(request):
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            target = quote(path + (f"?{request.url.query}" if request.url.query else ""), safe="")
            return RedirectResponse(f"{root(request)}/login?next={target}", 303)
        return PlainTextResponse("sign in, or send Authorization: Bearer TOKEN\n", 401,
                                 headers={"WWW-Authenticate": 'Bearer realm="hasched"'})  # fmt: skip
    if access.read_only and request.method not in ("GET", "HEAD") and path != "/logout":
        return PlainTextResponse("read-only: this UI makes no changes\n", 403)
    return await call_next(request)


def safe_next(request: Request, target: str) -> str:
    """Where to go after signing in: only a path inside this UI (never another site)."""
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = "/"
    return root(request) + target
