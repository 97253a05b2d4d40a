"""Reasoning: a few JSON reasoning steps, then a streamed synthesis of the answer.

Each step is a non-streamed call with ``response_format: {"type": "json_object"}``; the model
answers one object::

    {"thought": "...", "next_action": "continue" | "finish", "final_answer": "..."}

Steps go on while ``next_action`` is ``continue`` (at most REASONING_MAX_STEPS); an answer that is
not such an object ends the loop. The synthesis is always a streamed call with usage included.
"""

from __future__ import annotations

import json
import logging

from fastapi.responses import JSONResponse, Response

from .config import Settings
from .errors import APIError
from .llm_client import LLMClient
from .passthrough import wants_usage, with_metadata
from .streaming import accumulate, streaming_response

log = logging.getLogger(__name__)

STEP_METADATA = {"component": "reasoning-agent", "operation": "step_generation"}
SYNTHESIS_METADATA = {"component": "reasoning-agent", "operation": "synthesis"}
STEPS_HEADER = "X-Reasoning-Steps"
CONTINUE_ACTIONS = {"continue", "continue_thinking"}
STEP_PARAMS = ("temperature", "top_p", "seed", "user")
SYNTHESIS_PARAMS = STEP_PARAMS + (
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
)

STEP_PROMPT = """You reason about the user's request one step at a time before anyone answers it.
Reply with exactly one JSON object and nothing else:
{"thought": "<your reasoning in this step>", "next_action": "continue" or "finish", "final_answer": "<the answer if next_action is finish, else an empty string>"}
Choose "continue" only if another step of thinking would improve the answer. Your earlier steps are the assistant messages that follow the conversation."""

SYNTHESIS_PROMPT = """Answer the user's last request. Below is your own reasoning about it; use it, but write only the final answer, clearly and directly, without mentioning the steps.

{steps}"""


def parse_step(content) -> dict:
    try:
        step = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        step = None
    if not isinstance(step, dict):
        return {"thought": str(content or ""), "next_action": "finish", "final_answer": ""}
    action = str(step.get("next_action") or "finish").strip().lower()
    return {
        "thought": str(step.get("thought") or ""),
        "next_action": "continue" if action in CONTINUE_ACTIONS else "finish",
        "final_answer": str(step.get("final_answer") or ""),
    }


def message_content(completion: dict):
    try:
        return completion["choices"][0]["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError):
        raise APIError(
            502, "The LLM proxy answered a completion without choices", code="bad_upstream_response"
        ) from None


def pick(body: dict, names: tuple) -> dict:
    return {name: body[name] for name in names if body.get(name) is not None}


async def generate_steps(llm: LLMClient, settings: Settings, body: dict) -> list[dict]:
    messages = [{"role": "system", "content": STEP_PROMPT}, *body["messages"]]
    steps: list[dict] = []
    for number in range(1, settings.reasoning_max_steps + 1):
        request = {
            "model": body["model"],
            "messages": messages + [{"role": "assistant", "content": json.dumps(s)} for s in steps],
            "response_format": {"type": "json_object"},
            **pick(body, STEP_PARAMS),
        }
        completion = await llm.chat(with_metadata(request, STEP_METADATA), "reasoning_step", {"step": number})
        step = parse_step(message_content(completion))
        steps.append(step)
        if step["next_action"] != "continue":
            break
    log.info("reasoning: %d step(s)", len(steps))
    return steps


def synthesis_request(body: dict, steps: list[dict]) -> dict:
    lines = []
    for number, step in enumerate(steps, 1):
        lines.append(f"Step {number}: {step['thought']}")
        if step["final_answer"]:
            lines.append(f"Proposed answer: {step['final_answer']}")
    system = SYNTHESIS_PROMPT.format(steps="\n".join(lines))
    request = {
        "model": body["model"],
        "messages": [{"role": "system", "content": system}, *body["messages"]],
        "stream": True,
        "stream_options": {"include_usage": True},
        **pick(body, SYNTHESIS_PARAMS),
    }
    return with_metadata(request, SYNTHESIS_METADATA)


async def reasoning(llm: LLMClient, settings: Settings, body: dict, headers: dict) -> Response:
    steps = await generate_steps(llm, settings, body)
    headers = {**headers, STEPS_HEADER: str(len(steps))}
    stream = await llm.open_stream(synthesis_request(body, steps), "synthesis")
    if body.get("stream"):
        return streaming_response(stream, wants_usage(body), headers)
    return JSONResponse(await accumulate(stream), headers=headers)
