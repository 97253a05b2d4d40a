"""Passthrough: the client's request goes to the proxy as it is, tagged for tracing."""

from __future__ import annotations

from fastapi.responses import JSONResponse, Response

from .llm_client import LLMClient
from .streaming import streaming_response

METADATA = {"component": "passthrough", "routing_path": "passthrough"}


def with_metadata(body: dict, metadata: dict) -> dict:
    """A copy of ``body`` with a top-level ``metadata`` (what the OpenAI SDK's ``extra_body`` sends).

    Keys the client put in its own ``metadata`` are kept; the tracing keys win.
    """
    client_metadata = body.get("metadata") if isinstance(body.get("metadata"), dict) else {}
    return {**body, "metadata": {**client_metadata, **metadata}}


def wants_usage(body: dict) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


async def passthrough(llm: LLMClient, body: dict, headers: dict) -> Response:
    upstream = with_metadata(body, METADATA)
    if not body.get("stream"):
        return JSONResponse(await llm.chat(upstream, "passthrough"), headers=headers)
    options = body.get("stream_options") if isinstance(body.get("stream_options"), dict) else {}
    upstream["stream_options"] = {**options, "include_usage": True}
    stream = await llm.open_stream(upstream, "passthrough")
    return streaming_response(stream, wants_usage(body), headers)
