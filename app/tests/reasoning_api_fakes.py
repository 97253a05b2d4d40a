"""Fakes and helpers for the reasoning-api tests: a LiteLLM-like proxy behind httpx.MockTransport."""

from __future__ import annotations

import json

import httpx

VIRTUAL_KEY = "sk-virtual-test-key-0123456789"
CLIENT_TOKEN = "rapi-client-test-token-0123456789abcdef"


def sse_body(chunks: list) -> bytes:
    lines = [f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n" for c in chunks]
    return "".join(lines).encode()


def parse_sse(text: str) -> list:
    events = []
    for line in text.splitlines():
        if line.startswith("data: "):
            data = line[len("data: ") :]
            events.append(data if data == "[DONE]" else json.loads(data))
    return events


class FakeProxy:
    """Answers like LiteLLM would, records every request; ``override`` may take over a request."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply = "Paris is the capital of France."
        self.steps: list[str] = []  # contents of successive json_object answers
        self.decision = "passthrough"
        self.override = None  # callable(request, body) -> httpx.Response | None, may raise

    # what was sent
    def calls(self, **metadata) -> list[dict]:
        return [
            r["json"]
            for r in self.requests
            if r["path"] == "/v1/chat/completions"
            and all((r["json"].get("metadata") or {}).get(k) == v for k, v in metadata.items())
        ]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.requests.append(
            {"method": request.method, "path": request.url.path, "headers": dict(request.headers), "json": body}
        )
        if self.override is not None:
            response = self.override(request, body)
            if response is not None:
                return response
        if request.url.path == "/v1/models":
            return httpx.Response(200, json={"object": "list", "data": [{"id": "gpt-4o-mini", "object": "model"}]})
        if request.url.path != "/v1/chat/completions":
            return httpx.Response(404, json={"error": {"message": "not found", "type": "not_found", "code": "404"}})
        fmt = (body.get("response_format") or {}).get("type")
        if fmt == "json_object":
            content = (
                self.steps.pop(0)
                if self.steps
                else json.dumps({"thought": "It is a known fact.", "next_action": "finish", "final_answer": "Paris"})
            )
        elif fmt == "json_schema":
            content = json.dumps({"routing_decision": self.decision, "reason": "test"})
        else:
            content = self.reply
        if body.get("stream"):
            return self.stream(body, content)
        return httpx.Response(200, json=completion(body["model"], content))

    @staticmethod
    def stream(body: dict, content: str) -> httpx.Response:
        base = {"id": "chatcmpl-s1", "object": "chat.completion.chunk", "created": 1, "model": body["model"]}
        words = content.split(" ")
        pieces = [w + (" " if i < len(words) - 1 else "") for i, w in enumerate(words)]
        chunks = [
            {**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}
        ]
        chunks += [{**base, "choices": [{"index": 0, "delta": {"content": p}, "finish_reason": None}]} for p in pieces]
        chunks.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({**base, "choices": [], "usage": USAGE})
        chunks.append("[DONE]")
        return httpx.Response(200, content=sse_body(chunks), headers={"content-type": "text/event-stream"})


USAGE = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}


def completion(model: str, content: str) -> dict:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": USAGE,
    }


def chat_body(**extra) -> dict:
    return {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
        **extra,
    }
