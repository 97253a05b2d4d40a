"""Span export as configured from the settings: off when no endpoint, never in a request's way when Phoenix is down."""

import socket
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from reasoning_api_fakes import VIRTUAL_KEY, chat_body

from reasoning_api.config import Settings
from reasoning_api.main import create_app
from reasoning_api.tracing import EXPORT_TIMEOUT_SECONDS, tracer_provider


def app_client(proxy, **settings) -> TestClient:
    values = {"llm_api_key": VIRTUAL_KEY, "llm_base_url": "http://litellm:4000", **settings}
    return TestClient(create_app(Settings(**values), transport=httpx.MockTransport(proxy)))


def test_without_an_endpoint_tracing_is_off_and_no_traceparent_is_sent(proxy):
    with app_client(proxy) as client:
        assert client.get("/health").json()["tracing_enabled"] is False
        assert client.post("/v1/chat/completions", json=chat_body()).status_code == 200
    assert "traceparent" not in proxy.requests[0]["headers"]


def test_the_exported_resource_names_the_phoenix_project():
    provider = tracer_provider(Settings(tracing_endpoint="http://phoenix:6006/v1/traces", tracing_project_name="p1"))
    try:
        assert provider.resource.attributes["openinference.project.name"] == "p1"
        assert provider.resource.attributes["service.name"] == "reasoning-api"
    finally:
        provider.shutdown()


@pytest.fixture
def silent_endpoint():
    """An OTLP endpoint that accepts connections and never answers: an export to it waits for its timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1/traces"
    listener.close()  # resets the waiting connections, so the app's shutdown flush ends at once


@pytest.fixture
def refused_endpoint():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1/traces"


@pytest.mark.parametrize("endpoint", ["silent_endpoint", "refused_endpoint"])
def test_requests_are_answered_at_once_when_phoenix_is_down(proxy, request, endpoint):
    with app_client(proxy, tracing_endpoint=request.getfixturevalue(endpoint)) as client:
        assert client.get("/health").json()["tracing_enabled"] is True
        for mode, stream in [("passthrough", False), ("reasoning", True), ("auto", False)]:
            started = time.monotonic()
            response = client.post(
                "/v1/chat/completions", json=chat_body(stream=stream), headers={"X-Routing-Mode": mode}
            )
            elapsed = time.monotonic() - started
            assert response.status_code == 200
            # An export inside the request would wait EXPORT_TIMEOUT_SECONDS on the silent endpoint.
            assert elapsed < EXPORT_TIMEOUT_SECONDS / 2, f"{mode}: {elapsed:.1f} s"
    assert all("traceparent" in r["headers"] for r in proxy.requests)


@pytest.mark.parametrize("api_key", ["phx-system-key-0123456789", ""])
def test_spans_are_exported_with_phoenix_api_key(api_key):
    """Phoenix with authentication on takes the system API key as a bearer token; without a key none is sent."""
    import http.server
    import threading

    seen: list = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    provider = tracer_provider(Settings(tracing_endpoint=endpoint, tracing_api_key=api_key))
    try:
        provider.get_tracer("t").start_span("s").end()
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()
        server.shutdown()
    assert seen == [f"Bearer {api_key}" if api_key else None]
