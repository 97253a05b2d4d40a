"""Relaying and accumulating streamed chat completions (server-sent events)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from .errors import APIError
from .llm_client import ChatStream

log = logging.getLogger(__name__)
DONE = "data: [DONE]\n\n"


def sse(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def is_usage_chunk(chunk: dict) -> bool:
    return not chunk.get("choices") and chunk.get("usage") is not None


async def relay(stream: ChatStream, include_usage: bool) -> AsyncIterator[str]:
    """Upstream chunks as SSE for the client, then ``[DONE]``.

    Usage is passed on only when the client asked for it with ``stream_options.include_usage``; the proxy is
    always asked for it so that it records usage. LiteLLM may put ``usage`` on a chunk that still carries a
    choice: then only the ``usage`` key is dropped.
    A failure after the first byte can no longer change the status: it becomes an error event.
    """
    try:
        async for chunk in stream.events():
            if not include_usage and "usage" in chunk:
                if is_usage_chunk(chunk):
                    continue
                chunk = {key: value for key, value in chunk.items() if key != "usage"}
            yield sse(chunk)
    except APIError as exc:
        log.warning("upstream stream failed: HTTP %s %s", exc.status, exc.code)
        yield sse(exc.body())
    finally:
        await stream.aclose()
    yield DONE


def streaming_response(stream: ChatStream, include_usage: bool, headers: dict) -> StreamingResponse:
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers}
    return StreamingResponse(relay(stream, include_usage), media_type="text/event-stream", headers=headers)


async def accumulate(stream: ChatStream) -> dict:
    """Turn a streamed completion into one ``chat.completion`` object."""
    parts: list[str] = []
    first: dict = {}
    finish_reason = None
    usage = None
    try:
        async for chunk in stream.events():
            first = first or chunk
            if chunk.get("usage"):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                if choice.get("index", 0) != 0:
                    continue
                content = (choice.get("delta") or {}).get("content")
                if content:
                    parts.append(content)
                finish_reason = choice.get("finish_reason") or finish_reason
    finally:
        await stream.aclose()
    if not first:
        raise APIError(502, "The LLM proxy sent an empty stream", code="bad_upstream_response")
    return {
        "id": first.get("id", "chatcmpl-reasoning"),
        "object": "chat.completion",
        "created": first.get("created", int(time.time())),
        "model": first.get("model"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(parts)},
                "logprobs": None,
                "finish_reason": finish_reason or "stop",
            }
        ],
        "usage": usage,
    }
