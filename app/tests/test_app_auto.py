import httpx
import pytest
from reasoning_api_fakes import chat_body

AUTO = {"X-Routing-Mode": "auto"}
CLASSIFIER = {"component": "routing-classifier", "operation": "auto_routing"}


def test_classifier_call_is_structured_output_on_the_classifier_model(make_client, proxy):
    client = make_client(routing_classifier_model="gpt-4o")
    client.post("/v1/chat/completions", json=chat_body(model="gpt-4o-mini"), headers=AUTO)
    [call] = proxy.calls(**CLASSIFIER)
    assert call["model"] == "gpt-4o"
    assert call["metadata"] == CLASSIFIER
    assert "stream" not in call
    response_format = call["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert schema["properties"]["routing_decision"]["enum"] == ["passthrough", "reasoning"]
    assert schema["properties"]["reason"]["type"] == "string"
    assert set(schema["required"]) == {"routing_decision", "reason"}
    assert call["messages"][-1] == {"role": "user", "content": "Query to classify: What is the capital of France?"}


def test_classifier_choosing_reasoning_runs_reasoning(client, proxy):
    proxy.decision = "reasoning"
    response = client.post("/v1/chat/completions", json=chat_body(), headers=AUTO)
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == "reasoning"
    components = [(r["json"]["metadata"]["component"], r["json"]["metadata"].get("operation")) for r in proxy.requests]
    assert components == [
        ("routing-classifier", "auto_routing"),
        ("reasoning-agent", "step_generation"),
        ("reasoning-agent", "synthesis"),
    ]
    assert response.json()["choices"][0]["message"]["content"] == "Paris is the capital of France."


def test_classifier_choosing_passthrough_runs_passthrough(client, proxy):
    proxy.decision = "passthrough"
    response = client.post("/v1/chat/completions", json=chat_body(stream=True), headers=AUTO)
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == "passthrough"
    assert [r["json"]["metadata"]["component"] for r in proxy.requests] == ["routing-classifier", "passthrough"]
    assert proxy.requests[1]["json"]["stream"] is True


@pytest.mark.parametrize("content", ["not json", '{"routing_decision": "maybe"}', "[]"])
def test_unusable_classifier_answer_falls_back_to_passthrough(client, proxy, content):
    def answer(request, body):
        if body.get("response_format", {}).get("type") == "json_schema":
            return httpx.Response(200, json={"choices": [{"message": {"role": "assistant", "content": content}}]})
        return None

    proxy.override = answer
    response = client.post("/v1/chat/completions", json=chat_body(), headers=AUTO)
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == "passthrough"


def test_classifier_error_is_the_clients_error(client, proxy):
    proxy.override = lambda request, body: httpx.Response(
        429, json={"error": {"message": "Rate limit reached", "type": "rate_limit_error", "code": "429"}}
    )
    response = client.post("/v1/chat/completions", json=chat_body(), headers=AUTO)
    assert response.status_code == 429
    assert response.json()["error"]["message"] == "Rate limit reached"
    assert len(proxy.requests) == 1


def test_default_mode_can_be_auto(make_client, proxy):
    proxy.decision = "reasoning"
    response = make_client(default_routing_mode="auto").post("/v1/chat/completions", json=chat_body())
    assert response.headers["X-Routing-Path"] == "reasoning"
