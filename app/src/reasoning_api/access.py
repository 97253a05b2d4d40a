"""Who may call the API, and how much they may send: a bearer token and a request body limit.

Every path but the open ones (``/health`` for health checks, ``/metrics`` for the stack's Prometheus, which holds no
token) needs ``Authorization: Bearer <token>`` with one of the configured client tokens; anything else gets 401 with
a ``WWW-Authenticate`` header, before the request is observed, traced or read. Tokens are compared in constant time,
and every configured token is compared, so the answer's timing says nothing about which one came close.

A body over the limit gets 413: at once when ``Content-Length`` says so, else as soon as the bytes read pass it.
"""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import APIError

OPEN_PATHS = frozenset({"/health", "/metrics"})
REALM = "reasoning-api"


def token_accepted(header: str | None, tokens: tuple[str, ...]) -> bool:
    """Whether an ``Authorization`` header value carries one of ``tokens`` as a bearer token."""
    if not header:
        return False
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return False
    given = token.strip().encode()
    accepted = False
    for candidate in tokens:
        # No early exit: the loop costs the same whichever token matches.
        accepted |= hmac.compare_digest(given, candidate.encode())
    return accepted


def unauthorized(header: str | None) -> APIError:
    return APIError(401, "A bearer token is required: send 'Authorization: Bearer <client token>'",
                    code="invalid_api_key" if header else "missing_api_key")


def too_large(limit: int) -> APIError:
    return APIError(413, f"The request body is larger than {limit} bytes", code="request_too_large")


class AccessGuard:
    """Pure ASGI middleware: the bearer token check and the body limit (see the module's docstring).

    No tokens configured means no token check (the deployment always configures one; the app logs a warning).
    """

    def __init__(self, app: ASGIApp, tokens: tuple[str, ...], max_body_bytes: int) -> None:
        self.app = app
        self.tokens = tuple(t for t in tokens if t)
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self.tokens and scope["path"] not in OPEN_PATHS:
            auth = headers.get("authorization")
            if not token_accepted(auth, self.tokens):
                error = 'Bearer realm="%s"%s' % (REALM, ', error="invalid_token"' if auth else "")
                await unauthorized(auth).response({"WWW-Authenticate": error})(scope, receive, send)
                return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await too_large(self.max_body_bytes).response({"Connection": "close"})(scope, receive, send)
            return
        await self.app(scope, self._limited(receive), send)

    def _limited(self, receive: Receive) -> Receive:
        """``receive`` that raises APIError(413) once the body read passes the limit (a body without a length)."""
        seen = 0
        limit = self.max_body_bytes

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise too_large(limit)
            return message

        return limited
