import logging

import httpx
import pytest
from reasoning_api_fakes import VIRTUAL_KEY, chat_body, parse_sse, sse_body

MODES = ["passthrough", "reasoning", "auto"]


def assert_openai_error(response, status, code=None):
    assert response.status_code == status
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    assert "Traceback" not in response.text
    assert VIRTUAL_KEY not in response.text
    if code is not None:
        assert error["code"] == code
    return error


# --------------------------------------------------------------------------- the client's request


@pytest.mark.parametrize("mode", ["fast", "REASON", "passthrough,auto"])
def test_invalid_routing_mode_is_a_400(client, proxy, mode):
    response = client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": mode})
    error = assert_openai_error(response, 400, "invalid_routing_mode")
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "X-Routing-Mode"
    assert proxy.requests == []


@pytest.mark.parametrize(
    "content, param",
    [
        (b"{not json", None),
        (b"[1]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "gpt-4o-mini", "messages": []}', "messages"),
        (b'{"model": "gpt-4o-mini", "messages": ["hi"]}', "messages"),
        (b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": "yes"}', "stream"),
    ],
)
def test_invalid_body_is_a_400(client, proxy, content, param):
    response = client.post("/v1/chat/completions", content=content, headers={"Content-Type": "application/json"})
    assert assert_openai_error(response, 400)["param"] == param
    assert proxy.requests == []


@pytest.mark.parametrize("mode", MODES)
def test_missing_key_is_a_503_without_calling_the_proxy(make_client, proxy, mode):
    response = make_client(llm_api_key="").post(
        "/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": mode}
    )
    assert_openai_error(response, 503, "llm_api_key_missing")
    assert proxy.requests == []


def test_unknown_route_is_an_openai_style_404(client):
    assert_openai_error(client.get("/v1/nothing"), 404)


def test_unexpected_failure_is_a_plain_500(make_client, proxy):
    def boom(request, body):
        raise RuntimeError(f"internal detail {VIRTUAL_KEY}")

    proxy.override = boom
    response = make_client(raise_server_exceptions=False).post("/v1/chat/completions", json=chat_body())
    error = assert_openai_error(response, 500, "internal_error")
    assert "internal detail" not in error["message"]


# --------------------------------------------------------------------------- the proxy's errors


def upstream_error(status, message):
    return lambda request, body: httpx.Response(
        status, json={"error": {"message": message, "type": "upstream_type", "param": None, "code": str(status)}}
    )


@pytest.mark.parametrize("status", [401, 403, 429, 500, 502, 503])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("stream", [False, True])
def test_proxy_errors_keep_their_status(client, proxy, status, mode, stream):
    proxy.override = upstream_error(status, f"upstream said {status}")
    response = client.post("/v1/chat/completions", json=chat_body(stream=stream), headers={"X-Routing-Mode": mode})
    error = assert_openai_error(response, status, str(status))
    assert error["message"] == f"upstream said {status}"
    assert error["type"] == "upstream_type"


def test_error_in_the_synthesis_keeps_its_status(client, proxy):
    def fail_synthesis(request, body):
        return upstream_error(429, "slow down")(request, body) if body.get("stream") else None

    proxy.override = fail_synthesis
    response = client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "reasoning"})
    assert_openai_error(response, 429)
    assert response.headers["X-Routing-Path"] == "reasoning"
    assert len(proxy.requests) == 2


def test_keys_in_upstream_messages_are_redacted(client, proxy):
    proxy.override = upstream_error(401, f"Invalid key {VIRTUAL_KEY}; OpenAI said sk-proj-abcdefgh12345678")
    response = client.post("/v1/chat/completions", json=chat_body())
    error = assert_openai_error(response, 401)
    assert "sk-proj-abcdefgh12345678" not in error["message"]
    assert "[redacted]" in error["message"]


def test_non_openai_error_body_gets_a_default_type(client, proxy):
    proxy.override = lambda request, body: httpx.Response(500, text="<html>Internal Server Error</html>")
    error = assert_openai_error(client.post("/v1/chat/completions", json=chat_body()), 500)
    assert error["type"] == "api_error"


@pytest.mark.parametrize("stream", [False, True])
def test_timeout_is_a_504(client, proxy, stream):
    def timeout(request, body):
        raise httpx.ReadTimeout("timed out", request=request)

    proxy.override = timeout
    response = client.post("/v1/chat/completions", json=chat_body(stream=stream))
    assert assert_openai_error(response, 504, "upstream_timeout")["type"] == "timeout_error"


@pytest.mark.parametrize("path", ["/v1/models", "/v1/chat/completions"])
def test_unreachable_proxy_is_a_502(client, proxy, path):
    def refused(request, body):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    proxy.override = refused
    response = client.get(path) if path == "/v1/models" else client.post(path, json=chat_body())
    assert_openai_error(response, 502, "upstream_unavailable")


@pytest.mark.parametrize("stream", [False, True])
def test_a_connection_closed_before_any_answer_is_sent_once_more(client, proxy, stream):
    closed = []

    def closed_once(request, body):
        if not closed:
            closed.append(request)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    proxy.override = closed_once
    response = client.post("/v1/chat/completions", json=chat_body(stream=stream))
    assert response.status_code == 200
    assert "Paris" in response.text
    assert len(proxy.calls()) == 2


def test_a_connection_closed_twice_before_any_answer_is_a_502(client, proxy):
    def closed(request, body):
        raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)

    proxy.override = closed
    assert_openai_error(client.post("/v1/chat/completions", json=chat_body()), 502, "upstream_unavailable")
    assert len(proxy.calls()) == 2  # once more, not more


def test_a_connection_closed_mid_answer_is_not_sent_again(client, proxy):
    def cut(request, body):
        raise httpx.RemoteProtocolError("peer closed connection without sending complete message body", request=request)

    proxy.override = cut
    assert_openai_error(client.post("/v1/chat/completions", json=chat_body()), 502, "upstream_unavailable")
    assert len(proxy.calls()) == 1  # the proxy may have handled it: never twice


def test_non_json_success_is_a_502(client, proxy):
    proxy.override = lambda request, body: httpx.Response(200, text="ok")
    assert_openai_error(client.post("/v1/chat/completions", json=chat_body()), 502, "bad_upstream_response")


def test_completion_without_choices_in_reasoning_is_a_502(client, proxy):
    proxy.override = lambda request, body: httpx.Response(200, json={"id": "x"})
    response = client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "reasoning"})
    assert_openai_error(response, 502, "bad_upstream_response")


def test_failure_mid_stream_becomes_an_error_event(client, proxy):
    chunk = {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hal"}}]}

    class Broken(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield sse_body([chunk])
            raise httpx.ReadError("connection reset")

    proxy.override = lambda request, body: httpx.Response(
        200, stream=Broken(), headers={"content-type": "text/event-stream"}
    )
    response = client.post("/v1/chat/completions", json=chat_body(stream=True))
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert events[0]["choices"][0]["delta"]["content"] == "Hal"
    assert events[1]["error"]["code"] == "upstream_unavailable"
    assert events[-1] == "[DONE]"


def test_error_event_from_the_proxy_mid_stream_is_relayed(client, proxy):
    error = {"error": {"message": "provider failed", "type": "api_error", "code": "500"}}
    proxy.override = lambda request, body: httpx.Response(200, content=sse_body([error, "[DONE]"]))
    events = parse_sse(client.post("/v1/chat/completions", json=chat_body(stream=True)).text)
    assert events[0]["error"]["message"] == "provider failed"
    assert events[-1] == "[DONE]"


def test_the_key_never_reaches_the_logs(make_client, proxy, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client()
    client.get("/health")
    client.get("/v1/models")
    for mode in MODES:
        client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": mode})
    proxy.override = upstream_error(401, f"bad key {VIRTUAL_KEY}")
    client.post("/v1/chat/completions", json=chat_body())
    assert len(proxy.requests) >= 6
    assert caplog.records, "the app logs its requests"
    assert VIRTUAL_KEY not in caplog.text
