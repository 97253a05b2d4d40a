"""OpenAI-style errors: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status.

Messages that come from upstream are redacted (API keys) and shortened before a client sees them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable

from fastapi.responses import JSONResponse

DEFAULT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    408: "timeout_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{4,}")
MAX_MESSAGE = 1000


class APIError(Exception):
    """An error answered to the client as an OpenAI-style body."""

    def __init__(self, status: int, message: str, type: str | None = None, code=None, param=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type or DEFAULT_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
        self.code = code
        self.param = param

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self, headers: dict | None = None) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def redact(value, secrets: Iterable[str] = ()):
    """Remove the given secrets and anything that looks like an ``sk-`` key from strings."""
    if not isinstance(value, str):
        return value
    for secret in secrets:
        if secret:
            value = value.replace(secret, "[redacted]")
    value = KEY_PATTERN.sub("sk-[redacted]", value)
    return value if len(value) <= MAX_MESSAGE else value[:MAX_MESSAGE] + "…"


def from_upstream(status: int, content: bytes, secrets: Iterable[str] = ()) -> APIError:
    """Map an error answer of the LLM proxy to the error the client gets (same status for 4xx/5xx)."""
    secrets = tuple(secrets)
    if not 400 <= status <= 599:
        return APIError(502, f"LLM proxy answered an unexpected HTTP {status}", code="bad_upstream_response")
    message, type_, code, param = f"LLM proxy answered HTTP {status}", None, None, None
    try:
        payload = json.loads(content or b"null")
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        message = str(error.get("message") or message)
        type_ = error.get("type") if isinstance(error.get("type"), str) else None
        code, param = error.get("code"), error.get("param")
    elif isinstance(error, str):
        message = error
    elif isinstance(payload, dict) and isinstance(payload.get("detail"), str):
        message = payload["detail"]
    if param in ("None", ""):
        param = None
    return APIError(
        status,
        redact(message, secrets),
        type=redact(type_, secrets),
        code=redact(code, secrets),
        param=redact(param, secrets),
    )
