"""HTTP routes and middleware added to Streamlit's ASGI app (``st.App`` in ``Home.py``).

- ``POST /nexus-auth/establish`` exchanges a one-time sign-in ticket for the session
  token and sets it as an ``HttpOnly; SameSite=Lax`` cookie (``Secure`` over HTTPS), so
  page JavaScript never sees the token and a reload keeps the user signed in.
- ``POST /nexus-auth/sign-out`` revokes the cookie's session and clears the cookie.
- :class:`SecurityHeaders` adds CSP, nosniff, frame-ancestors and friends to every response.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from nexus.auth import get_backend
from nexus.settings import get_settings

COOKIE_NAME = "nexus_session"
ESTABLISH_PATH = "/nexus-auth/establish"
SIGN_OUT_PATH = "/nexus-auth/sign-out"

# The CSP Streamlit 1.67 works under ('unsafe-inline' is required by Streamlit itself).
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'wasm-unsafe-eval' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https://fonts.gstatic.com; "
    "font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
    "frame-src 'self' data:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)


def _forwarded_https(scheme: str, forwarded_proto: str) -> bool:
    return scheme == "https" or forwarded_proto.split(",")[0].strip().lower() == "https"


def _is_https(request: Request) -> bool:
    mode = get_settings().cookie_secure
    if mode != "auto":
        return mode == "always"
    return _forwarded_https(request.url.scheme, request.headers.get("x-forwarded-proto", ""))


def _same_origin(request: Request) -> bool:
    """Refuse cross-site form posts (the cookie is SameSite=Lax; this is belt and braces)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def establish(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    form = await request.form()
    ticket = str(form.get("ticket", ""))
    token = get_backend(get_settings()).redeem_ticket(ticket)
    if token is None:
        return Response("Sign-in link expired; sign in again.", status_code=400)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=get_settings().session_max_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_is_https(request),
    )
    return response


async def sign_out(request: Request) -> Response:
    if not _same_origin(request):
        return Response(status_code=403)
    token = request.cookies.get(COOKIE_NAME)
    if token:
        get_backend(get_settings()).revoke_token(token)
    response = Response(status_code=204, headers={"Cache-Control": "no-store"})
    response.delete_cookie(COOKIE_NAME, path="/", httponly=True, samesite="lax")
    return response


def routes() -> list[Route]:
    return [
        Route(ESTABLISH_PATH, establish, methods=["POST"]),
        Route(SIGN_OUT_PATH, sign_out, methods=["POST"]),
    ]


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every HTTP response (websockets untouched)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        forwarded = dict(scope.get("headers") or []).get(b"x-forwarded-proto", b"").decode()
        https = _forwarded_https(scope.get("scheme", ""), forwarded)

        async def send_with_headers(message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = {
                    b"content-security-policy": CSP.encode(),
                    b"x-content-type-options": b"nosniff",
                    b"x-frame-options": b"DENY",
                    b"referrer-policy": b"strict-origin-when-cross-origin",
                    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
                }
                if https:
                    extra[b"strict-transport-security"] = b"max-age=31536000; includeSubDomains"
                headers += [(k, v) for k, v in extra.items() if k not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
