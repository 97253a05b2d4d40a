import pytest
from reasoning_api_fakes import USAGE, VIRTUAL_KEY, chat_body, parse_sse

PASSTHROUGH = {"component": "passthrough", "routing_path": "passthrough"}


def test_non_streamed_request_is_forwarded_with_metadata(client, proxy):
    body = chat_body(temperature=0.3, max_tokens=50, user="alice")
    response = client.post("/v1/chat/completions", json=body, headers={"X-Routing-Mode": "passthrough"})
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == "passthrough"
    payload = response.json()
    assert payload["choices"][0]["message"]["content"] == "Paris is the capital of France."
    assert payload["usage"] == USAGE
    [request] = proxy.requests
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["authorization"] == f"Bearer {VIRTUAL_KEY}"
    assert request["json"] == {**body, "metadata": PASSTHROUGH}


def test_passthrough_is_the_default_mode(client, proxy):
    response = client.post("/v1/chat/completions", json=chat_body())
    assert response.headers["X-Routing-Path"] == "passthrough"
    assert proxy.calls(component="passthrough")


def test_header_is_case_insensitive(client, proxy):
    response = client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": " PassThrough "})
    assert response.status_code == 200
    assert len(proxy.calls(**PASSTHROUGH)) == 1


def test_client_metadata_is_kept_but_tracing_keys_win(client, proxy):
    body = chat_body(metadata={"tenant": "t1", "component": "spoofed"})
    client.post("/v1/chat/completions", json=body)
    assert proxy.requests[0]["json"]["metadata"] == {"tenant": "t1", **PASSTHROUGH}


def test_streamed_request_relays_chunks_without_usage(client, proxy):
    response = client.post("/v1/chat/completions", json=chat_body(stream=True))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["X-Routing-Path"] == "passthrough"
    events = parse_sse(response.text)
    assert events[-1] == "[DONE]"
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-1])
    assert text == "Paris is the capital of France."
    assert all(e["choices"] for e in events[:-1]), "usage chunk only when the client asked for it"
    [request] = proxy.requests
    assert request["json"]["stream"] is True
    assert request["json"]["stream_options"] == {"include_usage": True}
    assert request["json"]["metadata"] == PASSTHROUGH


def test_streamed_request_relays_usage_when_asked(client, proxy):
    body = chat_body(stream=True, stream_options={"include_usage": True})
    events = parse_sse(client.post("/v1/chat/completions", json=body).text)
    assert events[-2]["choices"] == []
    assert events[-2]["usage"] == USAGE
    assert events[-1] == "[DONE]"


@pytest.mark.parametrize("stream", [False, True])
def test_model_is_the_clients(client, proxy, stream):
    client.post("/v1/chat/completions", json=chat_body(model="gpt-4o", stream=stream))
    assert proxy.requests[0]["json"]["model"] == "gpt-4o"
