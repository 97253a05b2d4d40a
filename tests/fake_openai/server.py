#!/usr/bin/env python3
"""Fake OpenAI upstream for tests: the only test double allowed for OpenAI.

Python standard library only, one file, so it runs in any image that has python3:

    python3 server.py --host 0.0.0.0 --port 8080 [--api-key sk-expected]

LiteLLM is pointed at it (``api_base: http://fake-openai:8080/v1``); the reasoning-api
tests also start it in-process on an ephemeral port (see ``start_server``).

Endpoints
---------
POST /v1/chat/completions, /chat/completions
    OpenAI-shaped ``chat.completion`` (or SSE ``chat.completion.chunk`` stream when
    ``stream: true``). The model is echoed; ``usage`` counts are ceil(len(text)/4).
    * default: a deterministic reply mentioning the last user message
      ("Fake reply to: <last user message>").
    * ``response_format {"type": "json_object"}``: a reasoning step, the JSON the
      reasoning-api expects::

          {"thought": "...", "next_action": "continue" | "finish", "final_answer": "..."}

      ``next_action`` is ``finish`` unless the last user message contains
      ``fake-steps=N``: then it is ``continue`` until N steps exist, a step being
      counted per assistant message after the last user message.
    * ``response_format {"type": "json_schema", "json_schema": {"schema": ...}}``: a
      JSON instance valid for the schema (object/properties/required/enum/const/
      string/number/integer/boolean/null/array/anyOf/oneOf/allOf/$ref to
      $defs/definitions). An enum takes the first of its values that appears
      (case-insensitive) in the last user message, else its first value: saying
      "reasoning" in a prompt steers an auto-router to ``reasoning``.
    * ``stream: true``: ``data: {chunk}`` lines (a role chunk, several content
      chunks, a final chunk with ``finish_reason``), then a chunk with empty
      ``choices`` and ``usage`` when ``stream_options.include_usage`` is true, then
      ``data: [DONE]``.
    * model ``fake-error-<status>`` (400..599) answers that status with an OpenAI
      error body; model ``fake-slow-<ms>`` waits that long (max 60 s) before answering.
GET /v1/models, /models   a model list.
GET /health               {"status": "ok"}.
GET /_fake/requests       {"count": N, "requests": [{"method", "path", "headers", "body", ...}]}
                          every request except /health and /_fake/*, oldest first;
                          header names lower-cased, ``body`` the parsed JSON (or null
                          with ``raw_body``). Authorization is recorded as received.
DELETE /_fake/requests    clears the record.

Labelled answers: ``--reply-label TEXT`` (or FAKE_OPENAI_REPLY_LABEL) starts every free-text
answer, and the reasoning step's ``final_answer``, with TEXT and a space: the stack's demo upstream runs this server
with a label that says so (JSON-schema answers stay valid instances, unlabelled).

Authentication: /v1/* and the un-prefixed OpenAI paths answer 401 without an
``Authorization: Bearer`` header; with ``--api-key`` (or FAKE_OPENAI_API_KEY) only
that key is accepted, so a test can prove which key reached "OpenAI".
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import os
import re
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

MODELS = ["gpt-4o", "gpt-4o-mini", "o1-mini", "gpt-4.1-mini"]
MAX_RECORDED = 1000
MAX_SLOW_MS = 60_000
CHAT_PATHS = {"/v1/chat/completions", "/chat/completions"}
MODEL_PATHS = {"/v1/models", "/models"}
STEPS_MARKER = re.compile(r"fake-steps\s*=\s*(\d+)", re.IGNORECASE)
ERROR_MODEL = re.compile(r"^(?:.*/)?fake-error-(\d{3})$")
SLOW_MODEL = re.compile(r"^(?:.*/)?fake-slow-(\d+)$")

_ids = itertools.count(1)
_ids_lock = threading.Lock()


def _next_id(prefix: str) -> str:
    with _ids_lock:
        return f"{prefix}-fake-{next(_ids)}"


# --------------------------------------------------------------------------- text helpers


def count_tokens(text: str) -> int:
    """Deterministic stand-in for a tokenizer: one token per 4 characters, rounded up."""
    return (len(text) + 3) // 4


def content_text(content) -> str:
    """Text of a message ``content``: a string or a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, str):
                parts.append(part)
        return "\n".join(parts)
    return ""


def last_user_message(messages: list) -> str:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def prompt_text(messages: list) -> str:
    return "\n".join(content_text(m.get("content")) for m in messages if isinstance(m, dict))


def steps_taken(messages: list) -> int:
    """Assistant messages after the last user message (the reasoning steps so far)."""
    count = 0
    for message in reversed(messages):
        if not isinstance(message, dict):
            continue
        if message.get("role") == "user":
            break
        if message.get("role") == "assistant":
            count += 1
    return count


def split_content(content: str, pieces: int = 4) -> list[str]:
    """Split ``content`` into at most ``pieces`` chunks that join back exactly."""
    if not content:
        return [""]
    words = re.findall(r"\S+\s*|\s+", content)
    if len(words) < 2:
        half = max(1, len(content) // 2)
        return [content[:half], content[half:]] if len(content) > 1 else [content]
    size = -(-len(words) // pieces)
    return ["".join(words[i : i + size]) for i in range(0, len(words), size)]


# --------------------------------------------------------------------------- replies


def default_reply(messages: list) -> str:
    last = last_user_message(messages).strip() or "(no user message)"
    return f"Fake reply to: {last[:500]}"


def reasoning_step(messages: list) -> dict:
    last = last_user_message(messages).strip()
    match = STEPS_MARKER.search(last)
    wanted = int(match.group(1)) if match else 1
    step = steps_taken(messages) + 1
    done = step >= wanted
    return {
        "thought": f"Step {step}: thinking about: {last[:200]}",
        "next_action": "finish" if done else "continue",
        "final_answer": f"Fake answer to: {last[:200]}" if done else "",
    }


class SchemaInstance:
    """Builds one JSON instance valid for a (practical subset of) JSON Schema."""

    MAX_DEPTH = 8

    def __init__(self, root, hint: str):
        self.root = root
        self.hint = hint.lower()
        self.text = hint.strip()[:80] or "fake"

    def resolve(self, ref: str):
        if not ref.startswith("#"):
            raise ValueError(f"unsupported $ref {ref!r}")
        node = self.root
        for token in [t for t in ref[1:].split("/") if t]:
            token = token.replace("~1", "/").replace("~0", "~")
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def pick_enum(self, values: list):
        for value in values:
            if isinstance(value, str) and value and value.lower() in self.hint:
                return value
        return values[0] if values else None

    def build(self, schema, name: str = "value", depth: int = 0):
        if schema is True or schema is None or schema == {}:
            return f"fake {name}"
        if schema is False:
            return None
        if "$ref" in schema:
            target = self.resolve(schema["$ref"])
            extra = {k: v for k, v in schema.items() if k != "$ref"}
            return self.build({**target, **extra} if extra else target, name, depth + 1)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if "enum" in schema:
            return copy.deepcopy(self.pick_enum(schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in schema:
                options = [o for o in schema[key] if not (isinstance(o, dict) and o.get("type") == "null")]
                return self.build((options or schema[key])[0], name, depth + 1)
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part["$ref"]) if "$ref" in part else part
                for key, value in part.items():
                    if key == "properties":
                        merged.setdefault("properties", {}).update(value)
                    elif key == "required":
                        merged["required"] = list(merged.get("required", [])) + list(value)
                    else:
                        merged.setdefault(key, value)
            return self.build(merged, name, depth + 1)

        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            if "properties" in schema:
                kind = "object"
            elif "items" in schema or "prefixItems" in schema:
                kind = "array"
            else:
                kind = "string"

        if kind == "object":
            required = schema.get("required", [])
            result = {}
            for prop, sub in schema.get("properties", {}).items():
                if depth >= self.MAX_DEPTH and prop not in required:
                    continue
                result[prop] = self.build(sub, prop, depth + 1)
            return result
        if kind == "array":
            minimum = schema.get("minItems", 0)
            maximum = schema.get("maxItems")
            prefix = schema.get("prefixItems", [])
            items = [self.build(s, name, depth + 1) for s in prefix]
            wanted = max(minimum, 0 if depth >= self.MAX_DEPTH else 1)
            if maximum is not None:
                wanted = min(wanted, maximum)
            item_schema = schema.get("items", {})
            while len(items) < wanted and item_schema is not False:
                items.append(self.build(item_schema, name, depth + 1))
            return items
        if kind == "string":
            return self.string(schema, name)
        if kind in ("number", "integer"):
            return self.number(schema, kind)
        if kind == "boolean":
            return True
        return None

    def string(self, schema: dict, name: str) -> str:
        formats = {
            "date-time": "2024-01-01T00:00:00Z",
            "date": "2024-01-01",
            "time": "00:00:00Z",
            "email": "fake@example.com",
            "uri": "https://example.com/fake",
            "uuid": "00000000-0000-4000-8000-000000000000",
        }
        if schema.get("format") in formats:
            return formats[schema["format"]]
        value = f"fake {name} about: {self.text}"
        minimum = schema.get("minLength", 0)
        if len(value) < minimum:
            value = value + "x" * (minimum - len(value))
        if "maxLength" in schema:
            value = value[: schema["maxLength"]]
        return value

    @staticmethod
    def number(schema: dict, kind: str):
        value = 1
        if "minimum" in schema:
            value = schema["minimum"]
        elif "exclusiveMinimum" in schema:
            value = schema["exclusiveMinimum"] + 1
        if "maximum" in schema and value > schema["maximum"]:
            value = schema["maximum"]
        if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
            value = schema["exclusiveMaximum"] - 1
        return int(value) if kind == "integer" else float(value)


def completion_content(body: dict, label: str = "") -> str:
    """The reply's content; ``label`` and a space start every free-text answer (the demo upstream's mark)."""
    label = f"{label} " if label else ""
    messages = body.get("messages") or []
    response_format = body.get("response_format") or {}
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind == "json_object":
        step = reasoning_step(messages)
        if label and step["final_answer"]:
            step["final_answer"] = label + step["final_answer"]
        return json.dumps(step)
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema", {}) if isinstance(spec, dict) else {}
        instance = SchemaInstance(schema, last_user_message(messages)).build(schema)
        return json.dumps(instance)
    return label + default_reply(messages)


def usage_for(body: dict, content: str) -> dict:
    prompt = count_tokens(prompt_text(body.get("messages") or []))
    completion = count_tokens(content)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def error_body(status: int, message: str, code=None, param=None) -> dict:
    kinds = {
        400: ("invalid_request_error", None),
        401: ("invalid_request_error", "invalid_api_key"),
        403: ("permission_error", None),
        404: ("invalid_request_error", "model_not_found"),
        429: ("requests", "rate_limit_exceeded"),
    }
    kind, default_code = kinds.get(status, ("server_error" if status >= 500 else "invalid_request_error", None))
    return {"error": {"message": message, "type": kind, "param": param, "code": code or default_code}}


# --------------------------------------------------------------------------- HTTP


class FakeState:
    def __init__(self, api_key: str | None = None, reply_label: str = ""):
        self.api_key = api_key or None
        self.reply_label = reply_label
        self.lock = threading.Lock()
        self.requests: list[dict] = []

    def record(self, entry: dict) -> None:
        with self.lock:
            self.requests.append(entry)
            del self.requests[:-MAX_RECORDED]

    def snapshot(self) -> list[dict]:
        with self.lock:
            return copy.deepcopy(self.requests)

    def clear(self) -> int:
        with self.lock:
            count = len(self.requests)
            self.requests.clear()
            return count


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "FakeOpenAI/1.0"
    state: FakeState  # set on the subclass made by make_server

    # -- plumbing

    def log_message(self, format, *args):
        if not getattr(self.server, "quiet", False):
            sys.stderr.write(f"fake-openai {self.address_string()} - {format % args}\n")

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, payload, headers: dict | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def route(self) -> tuple[str, dict | None]:
        path = urlsplit(self.path).path.rstrip("/") or "/"
        raw = self.read_body()
        body = None
        entry = None
        if not (path == "/health" or path.startswith("/_fake")):
            entry = {
                "time": time.time(),
                "method": self.command,
                "path": path,
                "query": urlsplit(self.path).query,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": None,
            }
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
                if entry is not None:
                    entry["raw_body"] = raw[:10_000].decode("utf-8", "replace")
        if entry is not None:
            entry["body"] = body
            self.state.record(entry)
        return path, body

    def authorized(self) -> bool:
        auth = self.headers.get("Authorization") or ""
        if not auth.lower().startswith("bearer ") or not auth[7:].strip():
            self.send_json(401, error_body(401, "You didn't provide an API key (fake OpenAI)."))
            return False
        if self.state.api_key and auth[7:].strip() != self.state.api_key:
            self.send_json(401, error_body(401, "Incorrect API key provided (fake OpenAI)."))
            return False
        return True

    # -- verbs

    def do_GET(self):
        path, _ = self.route()
        if path == "/health":
            return self.send_json(200, {"status": "ok"})
        if path == "/_fake/requests":
            requests = self.state.snapshot()
            return self.send_json(200, {"count": len(requests), "requests": requests})
        if path in MODEL_PATHS:
            if not self.authorized():
                return
            now = int(time.time())
            data = [{"id": m, "object": "model", "created": now, "owned_by": "fake-openai"} for m in MODELS]
            return self.send_json(200, {"object": "list", "data": data})
        self.send_json(404, error_body(404, f"Unknown path {path}", code="not_found"))

    def do_DELETE(self):
        path, _ = self.route()
        if path == "/_fake/requests":
            return self.send_json(200, {"cleared": self.state.clear()})
        self.send_json(404, error_body(404, f"Unknown path {path}", code="not_found"))

    def do_POST(self):
        path, body = self.route()
        if path not in CHAT_PATHS:
            return self.send_json(404, error_body(404, f"Unknown path {path}", code="not_found"))
        if not self.authorized():
            return
        if not isinstance(body, dict):
            return self.send_json(400, error_body(400, "Request body must be a JSON object."))
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return self.send_json(400, error_body(400, "you must provide a model parameter", param="model"))
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return self.send_json(400, error_body(400, "'messages' must be a non-empty array", param="messages"))

        error = ERROR_MODEL.match(model)
        if error:
            status = int(error.group(1))
            if not 400 <= status <= 599:
                return self.send_json(400, error_body(400, f"fake error status must be 400..599, got {status}"))
            return self.send_json(status, error_body(status, f"Fake error {status} requested by model {model}"))
        slow = SLOW_MODEL.match(model)
        if slow:
            time.sleep(min(int(slow.group(1)), MAX_SLOW_MS) / 1000)

        content = completion_content(body, self.state.reply_label)
        usage = usage_for(body, content)
        if body.get("stream"):
            return self.stream(body, model, content, usage)
        self.send_json(
            200,
            {
                "id": _next_id("chatcmpl"),
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": "fp_fake",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content, "refusal": None},
                        "logprobs": None,
                        "finish_reason": "stop",
                    }
                ],
                "usage": usage,
            },
        )

    def stream(self, body: dict, model: str, content: str, usage: dict) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        base = {
            "id": _next_id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_fake",
        }

        def event(choices: list, **extra) -> None:
            chunk = {**base, "choices": choices, **extra}
            self.write_chunk(b"data: " + json.dumps(chunk).encode() + b"\n\n")

        def choice(delta: dict, finish=None) -> dict:
            return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}

        options = body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        extra = {"usage": None} if include_usage else {}
        try:
            event([choice({"role": "assistant", "content": ""})], **extra)
            for piece in split_content(content):
                event([choice({"content": piece})], **extra)
            event([choice({}, "stop")], **extra)
            if include_usage:
                event([], usage=usage)
            self.write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def make_server(host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, quiet: bool = False,
                reply_label: str = ""):
    """A ThreadingHTTPServer serving the fake; port 0 picks a free port."""
    state = FakeState(api_key, reply_label)
    handler = type("BoundHandler", (Handler,), {"state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    server.quiet = quiet
    server.state = state
    return server


def start_server(host: str = "127.0.0.1", port: int = 0, api_key: str | None = None, quiet: bool = True,
                 reply_label: str = ""):
    """Start the fake in a background thread; returns (server, base_url). Stop with server.shutdown()."""
    server = make_server(host, port, api_key, quiet, reply_label)
    thread = threading.Thread(target=server.serve_forever, name="fake-openai", daemon=True)
    thread.start()
    return server, f"http://{host}:{server.server_address[1]}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument(
        "--api-key",
        default=os.environ.get("FAKE_OPENAI_API_KEY") or None,
        help="accept only this bearer key (default: FAKE_OPENAI_API_KEY, else any non-empty key)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request")
    parser.add_argument(
        "--reply-label",
        default=os.environ.get("FAKE_OPENAI_REPLY_LABEL", ""),
        help="text that starts every free-text answer (default: FAKE_OPENAI_REPLY_LABEL; the demo upstream's label)",
    )
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, args.api_key, args.quiet, args.reply_label)
    # As PID 1 in a container SIGTERM is ignored without a handler: stop promptly on it.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"fake-openai listening on {args.host}:{server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
