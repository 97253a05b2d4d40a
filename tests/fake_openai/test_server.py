"""Tests of the fake OpenAI upstream (tests/fake_openai/server.py), started in-process."""

from __future__ import annotations

import importlib.util
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

SERVER_PATH = Path(__file__).with_name("server.py")
_spec = importlib.util.spec_from_file_location("fake_openai_server_under_test", SERVER_PATH)
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

KEY = "sk-real-openai-key-for-tests"
AUTH = {"Authorization": f"Bearer {KEY}"}
CLASSIFIER_SCHEMA = {
    "type": "object",
    "properties": {
        "routing_decision": {"type": "string", "enum": ["passthrough", "reasoning"]},
        "reason": {"type": "string"},
    },
    "required": ["routing_decision", "reason"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def server():
    srv, base_url = fake.start_server()
    yield srv, base_url
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def client(server):
    _, base_url = server
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=10) as c:
        c.delete("/_fake/requests")
        yield c


def chat(client, path="/v1/chat/completions", **body):
    body.setdefault("model", "gpt-4o-mini")
    body.setdefault("messages", [{"role": "user", "content": "Hello there"}])
    return client.post(path, json=body)


def sse_events(response: httpx.Response) -> list:
    events = []
    for line in response.text.splitlines():
        if line.startswith("data: "):
            payload = line[len("data: ") :]
            events.append(payload if payload == "[DONE]" else json.loads(payload))
    return events


# --------------------------------------------------------------------------- basics


def test_health_answers_ok(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.parametrize("path", ["/v1/models", "/models"])
def test_models_lists_openai_shaped_models(client, path):
    response = client.get(path)
    assert response.status_code == 200
    payload = response.json()
    assert payload["object"] == "list"
    ids = [m["id"] for m in payload["data"]]
    assert "gpt-4o-mini" in ids and "gpt-4o" in ids
    assert all(m["object"] == "model" for m in payload["data"])


def test_openai_paths_need_a_bearer_key(server):
    _, base_url = server
    response = httpx.post(f"{base_url}/v1/chat/completions", json={"model": "gpt-4o", "messages": []})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert httpx.get(f"{base_url}/v1/models").status_code == 401


def test_configured_api_key_is_the_only_one_accepted():
    srv, base_url = fake.start_server(api_key=KEY)
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        wrong = httpx.post(f"{base_url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer sk-virtual"})
        right = httpx.post(f"{base_url}/v1/chat/completions", json=body, headers=AUTH)
    finally:
        srv.shutdown()
        srv.server_close()
    assert wrong.status_code == 401
    assert wrong.json()["error"]["type"] == "invalid_request_error"
    assert right.status_code == 200


def test_a_reply_label_starts_every_free_text_answer():
    label = "[demo upstream]"
    srv, base_url = fake.start_server(reply_label=label)
    try:
        with httpx.Client(base_url=base_url, headers=AUTH, timeout=10) as c:
            plain = chat(c).json()["choices"][0]["message"]["content"]
            step = json.loads(chat(c, response_format={"type": "json_object"}).json()["choices"][0]["message"]["content"])
            schema = {"type": "json_schema", "json_schema": {"name": "route", "schema": CLASSIFIER_SCHEMA}}
            routed = json.loads(chat(c, response_format=schema).json()["choices"][0]["message"]["content"])
    finally:
        srv.shutdown()
        srv.server_close()
    assert plain == "[demo upstream] Fake reply to: Hello there"
    assert step["final_answer"] == "[demo upstream] Fake answer to: Hello there"
    # A schema's instance stays valid: its enum value is not labelled.
    assert routed["routing_decision"] in ("passthrough", "reasoning")


def test_unknown_path_is_an_openai_style_404(client):
    response = client.post("/v1/embeddings", json={"model": "x", "input": "y"})
    assert response.status_code == 404
    assert set(response.json()["error"]) >= {"message", "type", "code"}


@pytest.mark.parametrize(
    "body, param",
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "gpt-4o", "messages": []}, "messages"),
    ],
)
def test_invalid_chat_body_is_a_400(client, body, param):
    response = client.post("/v1/chat/completions", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param


def test_non_json_body_is_a_400_and_recorded_raw(client):
    response = client.post("/v1/chat/completions", content=b"not json", headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    recorded = client.get("/_fake/requests").json()["requests"][-1]
    assert recorded["body"] is None
    assert recorded["raw_body"] == "not json"


# --------------------------------------------------------------------------- chat completions


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/chat/completions"])
def test_default_reply_mentions_last_user_message(client, path):
    messages = [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    response = chat(client, path, model="gpt-4o", messages=messages)
    assert response.status_code == 200
    payload = response.json()
    assert payload["id"].startswith("chatcmpl-")
    assert payload["object"] == "chat.completion"
    assert payload["model"] == "gpt-4o"
    choice = payload["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    content = choice["message"]["content"]
    assert content == "Fake reply to: What is the capital of France?"
    prompt = "\n".join(m["content"] for m in messages)
    assert payload["usage"] == {
        "prompt_tokens": (len(prompt) + 3) // 4,
        "completion_tokens": (len(content) + 3) // 4,
        "total_tokens": (len(prompt) + 3) // 4 + (len(content) + 3) // 4,
    }


def test_reply_is_deterministic_and_reads_content_parts(client):
    messages = [{"role": "user", "content": [{"type": "text", "text": "parts work"}]}]
    first = chat(client, messages=messages).json()
    second = chat(client, messages=messages).json()
    assert first["choices"][0]["message"]["content"] == "Fake reply to: parts work"
    assert first["choices"][0]["message"]["content"] == second["choices"][0]["message"]["content"]
    assert first["id"] != second["id"]


def test_model_is_echoed_verbatim(client):
    assert chat(client, model="my-custom-model").json()["model"] == "my-custom-model"


def test_json_object_is_a_finished_reasoning_step(client):
    response = chat(
        client,
        response_format={"type": "json_object"},
        messages=[{"role": "user", "content": "Why is the sky blue?"}],
    )
    step = json.loads(response.json()["choices"][0]["message"]["content"])
    assert set(step) == {"thought", "next_action", "final_answer"}
    assert step["next_action"] == "finish"
    assert "Why is the sky blue?" in step["thought"]
    assert "Why is the sky blue?" in step["final_answer"]


def test_json_object_continues_until_fake_steps_reached(client):
    user = {"role": "user", "content": "Plan a trip fake-steps=3"}
    previous = {"role": "assistant", "content": '{"thought": "x", "next_action": "continue"}'}
    actions = []
    for taken in range(3):
        body = {"response_format": {"type": "json_object"}, "messages": [user] + [previous] * taken}
        step = json.loads(chat(client, **body).json()["choices"][0]["message"]["content"])
        actions.append(step["next_action"])
        assert step["thought"].startswith(f"Step {taken + 1}:")
    assert actions == ["continue", "continue", "finish"]


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("Query to classify: hello", "passthrough"),
        ("Query to classify: this needs careful REASONING", "reasoning"),
        ("Query to classify: plain passthrough please", "passthrough"),
    ],
)
def test_json_schema_enum_is_steered_by_the_last_user_message(client, prompt, expected):
    body = {
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "routing", "strict": True, "schema": CLASSIFIER_SCHEMA},
        },
        "messages": [
            {"role": "system", "content": "Answer passthrough or reasoning."},
            {"role": "user", "content": prompt},
        ],
    }
    decision = json.loads(chat(client, **body).json()["choices"][0]["message"]["content"])
    assert set(decision) == {"routing_decision", "reason"}
    assert decision["routing_decision"] == expected
    assert isinstance(decision["reason"], str) and decision["reason"]


def test_json_schema_instance_follows_refs_and_types(client):
    schema = {
        "type": "object",
        "$defs": {
            "Item": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "maxLength": 10},
                    "qty": {"type": "integer", "minimum": 2},
                    "price": {"type": "number", "exclusiveMinimum": 0},
                    "kind": {"enum": ["tool", "food"]},
                },
                "required": ["name", "qty", "price", "kind"],
            }
        },
        "properties": {
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 2},
            "ok": {"type": "boolean"},
            "note": {"anyOf": [{"type": "null"}, {"type": "string", "minLength": 40}]},
            "when": {"type": "string", "format": "date-time"},
            "fixed": {"const": 42},
            "merged": {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {"type": "null"}}}]},
            "maybe": {"type": ["null", "number"], "maximum": -5},
        },
        "required": ["items", "ok", "note"],
    }
    body = {
        "response_format": {"type": "json_schema", "json_schema": {"name": "order", "schema": schema}},
        "messages": [{"role": "user", "content": "I want FOOD"}],
    }
    instance = json.loads(chat(client, **body).json()["choices"][0]["message"]["content"])
    assert len(instance["items"]) == 2
    for item in instance["items"]:
        assert isinstance(item["name"], str) and len(item["name"]) <= 10
        assert isinstance(item["qty"], int) and item["qty"] >= 2
        assert isinstance(item["price"], float) and item["price"] > 0
        assert item["kind"] == "food"
    assert instance["ok"] is True
    assert isinstance(instance["note"], str) and len(instance["note"]) >= 40
    assert instance["when"] == "2024-01-01T00:00:00Z"
    assert instance["fixed"] == 42
    assert instance["merged"] == {"a": 1, "b": None}
    assert instance["maybe"] == -5.0


def test_json_schema_enum_defaults_to_first_value(client):
    schema = {"type": "object", "properties": {"color": {"type": "string", "enum": ["red", "green"]}}}
    body = {
        "response_format": {"type": "json_schema", "json_schema": {"name": "c", "schema": schema}},
        "messages": [{"role": "user", "content": "no colour named here"}],
    }
    instance = json.loads(chat(client, **body).json()["choices"][0]["message"]["content"])
    assert instance == {"color": "red"}


def test_schema_instance_handles_recursive_refs():
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "children": {"type": "array", "items": {"$ref": "#"}}},
        "required": ["name"],
    }
    instance = fake.SchemaInstance(schema, "tree").build(schema)
    depth = 0
    node = instance
    while node.get("children"):
        node = node["children"][0]
        depth += 1
    assert 1 <= depth <= fake.SchemaInstance.MAX_DEPTH
    assert isinstance(node["name"], str)


# --------------------------------------------------------------------------- streaming


def test_stream_without_usage(client):
    plain = chat(client, messages=[{"role": "user", "content": "stream me a few words please"}]).json()
    response = chat(client, stream=True, messages=[{"role": "user", "content": "stream me a few words please"}])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = events[:-1]
    assert all(c["object"] == "chat.completion.chunk" and c["model"] == "gpt-4o-mini" for c in chunks)
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    content_chunks = [c for c in chunks[1:-1] if c["choices"][0]["delta"].get("content")]
    assert len(content_chunks) >= 2
    text = "".join(c["choices"][0]["delta"]["content"] for c in content_chunks)
    assert text == plain["choices"][0]["message"]["content"]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["choices"] for c in chunks), "no usage chunk without include_usage"
    assert all("usage" not in c for c in chunks)


def test_stream_with_include_usage_ends_with_a_usage_chunk(client):
    messages = [{"role": "user", "content": "count my tokens"}]
    plain = chat(client, messages=messages).json()
    response = chat(client, stream=True, stream_options={"include_usage": True}, messages=messages)
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    usage_chunk = events[-2]
    assert usage_chunk["choices"] == []
    assert usage_chunk["usage"] == plain["usage"]
    assert events[-3]["choices"][0]["finish_reason"] == "stop"
    assert all(e["usage"] is None for e in events[:-2])


def test_stream_of_structured_output_joins_to_json(client):
    response = chat(client, stream=True, response_format={"type": "json_object"})
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in sse_events(response)[:-1] if e["choices"])
    assert json.loads(text)["next_action"] == "finish"


def test_split_content_joins_back_exactly():
    for text in ["", "a", "ab", "one two", "  spaced   words here  ", "x " * 50]:
        pieces = fake.split_content(text)
        assert "".join(pieces) == text
        assert len(pieces) <= 4


# --------------------------------------------------------------------------- errors and delays


@pytest.mark.parametrize(
    "status, kind",
    [
        (400, "invalid_request_error"),
        (401, "invalid_request_error"),
        (429, "requests"),
        (500, "server_error"),
        (503, "server_error"),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
def test_fake_error_models_answer_that_status(client, status, kind, stream):
    response = chat(client, model=f"fake-error-{status}", stream=stream)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["type"] == kind
    assert str(status) in error["message"]
    assert "code" in error and "param" in error


def test_fake_error_model_with_provider_prefix(client):
    assert chat(client, model="openai/fake-error-429").status_code == 429


def test_fake_error_status_out_of_range_is_a_400(client):
    response = chat(client, model="fake-error-200")
    assert response.status_code == 400


def test_fake_slow_model_waits(client):
    started = time.monotonic()
    response = chat(client, model="fake-slow-300")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


# --------------------------------------------------------------------------- recording


def test_requests_are_recorded_with_key_and_body(client):
    chat(
        client,
        metadata={"component": "passthrough", "routing_path": "passthrough"},
        messages=[{"role": "user", "content": "record me"}],
    )
    client.get("/v1/models")
    client.get("/health")
    recorded = client.get("/_fake/requests").json()
    assert recorded["count"] == 2
    first, second = recorded["requests"]
    assert first["method"] == "POST" and first["path"] == "/v1/chat/completions"
    assert first["headers"]["authorization"] == f"Bearer {KEY}"
    assert first["body"]["metadata"] == {"component": "passthrough", "routing_path": "passthrough"}
    assert first["body"]["messages"][0]["content"] == "record me"
    assert second["method"] == "GET" and second["path"] == "/v1/models"


def test_rejected_requests_are_recorded_too(server, client):
    _, base_url = server
    httpx.post(f"{base_url}/v1/chat/completions", json={"model": "m"}, headers={"Authorization": "Bearer sk-virtual"})
    assert client.get("/_fake/requests").json()["requests"][-1]["headers"]["authorization"] == "Bearer sk-virtual"


def test_delete_clears_the_record(client):
    chat(client)
    assert client.get("/_fake/requests").json()["count"] == 1
    cleared = client.delete("/_fake/requests")
    assert cleared.json() == {"cleared": 1}
    assert client.get("/_fake/requests").json() == {"count": 0, "requests": []}


def test_record_is_bounded(monkeypatch):
    monkeypatch.setattr(fake, "MAX_RECORDED", 3)
    state = fake.FakeState()
    for i in range(5):
        state.record({"n": i})
    assert [r["n"] for r in state.snapshot()] == [2, 3, 4]


# --------------------------------------------------------------------------- the script


def test_script_runs_standalone_and_stops_on_sigterm():
    process = subprocess.Popen(
        [sys.executable, str(SERVER_PATH), "--host", "127.0.0.1", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert line.startswith("fake-openai listening on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        assert httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json() == {"status": "ok"}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=5) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
