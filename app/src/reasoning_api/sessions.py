"""The conversation a request belongs to: Phoenix's ``session.id`` on the request's root span.

OpenAI's ``user`` field names it when present, else the ``X-Session-Id`` header. ``user`` comes first because
LiteLLM files its own spans under it (its end user becomes their ``session.id``) and Phoenix gives a trace the
first session id it reads from any of its spans: with another value on the root span, the trace would land in
either session depending on which span reached Phoenix first (measured: LiteLLM's, usually).
"""

from __future__ import annotations

from .errors import APIError

HEADER = "X-Session-Id"
MAX_LENGTH = 256


def session_id(header: str | None, body: dict) -> str | None:
    from_header = checked_header(header)
    user = body.get("user")
    if isinstance(user, str) and user.strip():
        return user  # as sent: LiteLLM uses it unchanged
    return from_header


def checked_header(header: str | None) -> str | None:
    if header is None or not header.strip():
        return None
    value = header.strip()
    if len(value) > MAX_LENGTH or not value.isprintable():
        raise APIError(
            400, f"Invalid {HEADER}: at most {MAX_LENGTH} printable characters", code="invalid_session_id", param=HEADER
        )
    return value
