"""Routing: the X-Routing-Mode header and, in ``auto`` mode, the LLM classifier."""

from __future__ import annotations

import json
import logging

from .config import ROUTING_MODES, Settings
from .errors import APIError
from .llm_client import LLMClient
from .passthrough import with_metadata

log = logging.getLogger(__name__)

HEADER = "X-Routing-Mode"
PATH_HEADER = "X-Routing-Path"  # on every answer that got as far as choosing a path
PATHS = ("passthrough", "reasoning")
CLASSIFIER_METADATA = {"component": "routing-classifier", "operation": "auto_routing"}
CLASSIFIER_SCHEMA = {
    "type": "object",
    "properties": {
        "routing_decision": {"type": "string", "enum": list(PATHS)},
        "reason": {"type": "string"},
    },
    "required": ["routing_decision", "reason"],
    "additionalProperties": False,
}
CLASSIFIER_PROMPT = """You decide how an assistant should handle a user's query.
- "passthrough": a single direct answer serves it well (chit-chat, simple facts, rewriting, translation, short code).
- "reasoning": it needs several steps of thinking (analysis, planning, research, maths or logic, weighing options).
Reply with the JSON object the schema describes: routing_decision and a one-sentence reason."""


def resolve_mode(header: str | None, default: str) -> str:
    if header is None or not header.strip():
        return default
    mode = header.strip().lower()
    if mode not in ROUTING_MODES:
        raise APIError(
            400,
            f"Invalid {HEADER} {header.strip()[:40]!r}: expected one of {', '.join(ROUTING_MODES)}",
            code="invalid_routing_mode",
            param=HEADER,
        )
    return mode


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


def last_user_text(messages: list) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return text_of(message.get("content"))
    return ""


def classifier_request(settings: Settings, body: dict) -> dict:
    request = {
        "model": settings.routing_classifier_model,
        "messages": [
            {"role": "system", "content": CLASSIFIER_PROMPT},
            {"role": "user", "content": f"Query to classify: {last_user_text(body['messages'])}"},
        ],
        "temperature": 0,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "routing_decision", "strict": True, "schema": CLASSIFIER_SCHEMA},
        },
    }
    # The client's end user is LiteLLM's end user on every call: its spend, and the session LiteLLM gives its spans.
    if body.get("user") is not None:
        request["user"] = body["user"]
    return with_metadata(request, CLASSIFIER_METADATA)


async def classify(llm: LLMClient, settings: Settings, body: dict) -> str:
    """The path the classifier picks; an unusable answer falls back to passthrough."""
    completion = await llm.chat(classifier_request(settings, body), "routing_classifier")
    try:
        decision = json.loads(completion["choices"][0]["message"]["content"])["routing_decision"]
    except (KeyError, IndexError, TypeError, ValueError):
        decision = None
    if decision not in PATHS:
        log.warning("auto routing: unusable classifier answer, using passthrough")
        return "passthrough"
    log.info("auto routing: %s", decision)
    return decision
