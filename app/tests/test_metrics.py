"""/metrics: Prometheus text with requests by mode, path and status, latencies and upstream errors."""

import httpx
from prometheus_client.parser import text_string_to_metric_families
from reasoning_api_fakes import VIRTUAL_KEY, chat_body


def samples(client) -> dict:
    """{(sample name, frozenset of label pairs): value} of the app's /metrics."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_requests_are_counted_by_mode_path_and_status(client, proxy):
    proxy.decision = "reasoning"
    client.post("/v1/chat/completions", json=chat_body())
    client.post("/v1/chat/completions", json=chat_body(stream=True))
    client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "reasoning"})
    client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "auto"})
    client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "telepathy"})
    client.post("/v1/chat/completions", json={"model": "gpt-4o-mini", "messages": []})

    found = samples(client)
    total = "reasoning_api_requests_total"
    assert value(found, total, mode="passthrough", path="passthrough", status="200") == 2
    assert value(found, total, mode="reasoning", path="reasoning", status="200") == 1
    assert value(found, total, mode="auto", path="reasoning", status="200") == 1
    assert value(found, total, mode="invalid", path="none", status="400") == 1
    assert value(found, total, mode="passthrough", path="none", status="400") == 1
    duration = "reasoning_api_request_duration_seconds_count"
    assert value(found, duration, mode="passthrough", path="passthrough") == 2
    assert value(found, duration, mode="auto", path="reasoning") == 1


def test_upstream_calls_are_timed_by_component_and_operation(client, proxy):
    proxy.decision = "reasoning"
    client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "auto"})
    found = samples(client)
    upstream = "reasoning_api_upstream_request_duration_seconds_count"
    assert value(found, upstream, component="routing-classifier", operation="auto_routing") == 1
    assert value(found, upstream, component="reasoning-agent", operation="step_generation") == 1
    assert value(found, upstream, component="reasoning-agent", operation="synthesis") == 1


def test_upstream_errors_are_counted_by_the_status_answered(client, proxy):
    proxy.override = lambda request, body: httpx.Response(429, json={"error": {"message": "slow down"}})
    assert client.post("/v1/chat/completions", json=chat_body()).status_code == 429

    def timeout(request, body):
        raise httpx.ReadTimeout("slow", request=request)

    proxy.override = timeout
    assert (
        client.post("/v1/chat/completions", json=chat_body(), headers={"X-Routing-Mode": "reasoning"}).status_code
        == 504
    )

    found = samples(client)
    errors = "reasoning_api_upstream_errors_total"
    assert value(found, errors, component="passthrough", operation="none", status="429") == 1
    assert value(found, errors, component="reasoning-agent", operation="step_generation", status="504") == 1
    total = "reasoning_api_requests_total"
    assert value(found, total, mode="passthrough", path="passthrough", status="429") == 1
    assert value(found, total, mode="reasoning", path="reasoning", status="504") == 1


def test_metrics_hold_no_key_and_no_client_text(client, proxy):
    proxy.override = lambda request, body: httpx.Response(401, json={"error": {"message": f"bad key {VIRTUAL_KEY}"}})
    client.post("/v1/chat/completions", json=chat_body(user="user-7"), headers={"X-Session-Id": "conversation-9"})
    text = client.get("/metrics").text
    assert 'status="401"' in text
    for secret_or_client_value in (VIRTUAL_KEY, "sk-", "user-7", "conversation-9", "capital of France"):
        assert secret_or_client_value not in text


def test_each_app_counts_its_own_requests(make_client):
    first, second = make_client(), make_client()
    first.post("/v1/chat/completions", json=chat_body())
    total = "reasoning_api_requests_total"
    assert value(samples(first), total, mode="passthrough", path="passthrough", status="200") == 1
    assert value(samples(second), total, mode="passthrough", path="passthrough", status="200") == 0
