"""The app against the repository's fake OpenAI server (tests/fake_openai/server.py) over real HTTP.

The fake stands where LiteLLM would: this proves the app and the fake agree on the reasoning-step
JSON, the classifier schema and the stream format.
"""

import importlib.util
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from reasoning_api_fakes import VIRTUAL_KEY, parse_sse

from reasoning_api.config import Settings
from reasoning_api.main import create_app

SERVER = Path(__file__).resolve().parents[2] / "tests" / "fake_openai" / "server.py"


@pytest.fixture(scope="module")
def fake_openai():
    spec = importlib.util.spec_from_file_location("fake_openai_server_for_app_tests", SERVER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    server, base_url = module.start_server()
    yield base_url
    server.shutdown()
    server.server_close()


@pytest.fixture
def recorded(fake_openai):
    httpx.delete(f"{fake_openai}/_fake/requests")

    def get():
        return httpx.get(f"{fake_openai}/_fake/requests").json()["requests"]

    return get


@pytest.fixture
def client(fake_openai):
    settings = Settings(llm_api_key=VIRTUAL_KEY, llm_base_url=fake_openai, reasoning_max_steps=3, llm_timeout_seconds=5)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def ask(client, text, mode, **extra):
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **extra}
    return client.post("/v1/chat/completions", json=body, headers={"X-Routing-Mode": mode})


def test_passthrough(client, recorded):
    response = ask(client, "Hello fake", "passthrough")
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "Fake reply to: Hello fake"
    [request] = recorded()
    assert request["headers"]["authorization"] == f"Bearer {VIRTUAL_KEY}"
    assert request["body"]["metadata"] == {"component": "passthrough", "routing_path": "passthrough"}


def test_passthrough_stream(client, recorded):
    response = ask(client, "Stream this", "passthrough", stream=True, stream_options={"include_usage": True})
    events = parse_sse(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["usage"]["total_tokens"] > 0
    assert "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2]) == "Fake reply to: Stream this"


@pytest.mark.parametrize("stream", [False, True])
def test_reasoning_runs_the_steps_the_fake_asks_for(client, recorded, stream):
    response = ask(client, "Plan it fake-steps=2", "reasoning", stream=stream)
    assert response.status_code == 200
    assert response.headers["X-Reasoning-Steps"] == "2"
    operations = [r["body"]["metadata"]["operation"] for r in recorded()]
    assert operations == ["step_generation", "step_generation", "synthesis"]
    if stream:
        text = "".join(
            e["choices"][0]["delta"].get("content") or "" for e in parse_sse(response.text)[:-1] if e["choices"]
        )
    else:
        text = response.json()["choices"][0]["message"]["content"]
        assert response.json()["usage"]["total_tokens"] > 0
    assert text == "Fake reply to: Plan it fake-steps=2"
    synthesis = recorded()[-1]["body"]
    assert "Step 2: thinking about: Plan it fake-steps=2" in synthesis["messages"][0]["content"]


@pytest.mark.parametrize("text, path", [("needs deep reasoning", "reasoning"), ("hi there", "passthrough")])
def test_auto_follows_the_classifier(client, recorded, text, path):
    response = ask(client, text, "auto")
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == path
    first = recorded()[0]["body"]
    assert first["metadata"] == {"component": "routing-classifier", "operation": "auto_routing"}
    assert first["response_format"]["type"] == "json_schema"
    assert first["model"] == "gpt-4o-mini"


@pytest.mark.parametrize("status", [429, 500])
def test_fake_errors_come_back_with_their_status(client, status):
    response = client.post(
        "/v1/chat/completions",
        json={"model": f"fake-error-{status}", "messages": [{"role": "user", "content": "x"}]},
    )
    assert response.status_code == status
    assert str(status) in response.json()["error"]["message"]


def test_slow_upstream_is_a_504(fake_openai):
    settings = Settings(llm_api_key=VIRTUAL_KEY, llm_base_url=fake_openai, llm_timeout_seconds=0.2)
    with TestClient(create_app(settings)) as slow_client:
        response = slow_client.post(
            "/v1/chat/completions", json={"model": "fake-slow-1000", "messages": [{"role": "user", "content": "x"}]}
        )
    assert response.status_code == 504
    assert response.json()["error"]["code"] == "upstream_timeout"


def test_models(client):
    assert "gpt-4o-mini" in [m["id"] for m in client.get("/v1/models").json()["data"]]
