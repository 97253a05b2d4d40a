"""One trace per request: the root span, a child span per LiteLLM call, the traceparent each call carries."""

import json

import httpx
import pytest
from reasoning_api_fakes import CLIENT_TOKEN, VIRTUAL_KEY, chat_body

AUTO = {"X-Routing-Mode": "auto"}
REASONING = {"X-Routing-Mode": "reasoning"}


def step(action):
    return json.dumps({"thought": f"thinking, then {action}", "next_action": action, "final_answer": ""})


def by_name(exporter) -> dict[str, list]:
    spans: dict[str, list] = {}
    for span in exporter.get_finished_spans():
        spans.setdefault(span.name, []).append(span)
    return spans


def metadata(span) -> dict:
    return json.loads(span.attributes["metadata"])


def traceparent_ids(request) -> tuple[str, str]:
    """(trace id, parent span id) of the W3C traceparent header an upstream request carried."""
    version, trace_id, parent_id, flags = request["headers"]["traceparent"].split("-")
    assert version == "00" and int(flags, 16) & 1, "a sampled W3C traceparent"
    return trace_id, parent_id


@pytest.mark.parametrize("stream", [False, True])
def test_a_reasoning_request_is_one_trace_with_a_child_span_per_call(client, proxy, exporter, stream):
    proxy.decision = "reasoning"
    proxy.steps = [step("continue"), step("finish")]
    response = client.post("/v1/chat/completions", json=chat_body(stream=stream), headers=AUTO)
    assert response.status_code == 200

    spans = by_name(exporter)
    assert sorted(spans) == ["chat_completion", "reasoning_step", "routing_classifier", "synthesis"]
    [root] = spans["chat_completion"]
    assert root.parent is None
    assert root.attributes["openinference.span.kind"] == "CHAIN"
    assert metadata(root) == {"routing_mode": "auto", "routing_path": "reasoning", "reasoning_steps": 2}
    assert root.attributes["http.response.status_code"] == 200
    assert root.status.is_ok

    children = [span for span in exporter.get_finished_spans() if span is not root]
    assert len(children) == 4
    assert {span.context.trace_id for span in children} == {root.context.trace_id}
    assert {span.parent.span_id for span in children} == {root.context.span_id}
    assert all(root.start_time <= span.start_time and span.end_time <= root.end_time for span in children)
    assert metadata(spans["routing_classifier"][0]) == {"component": "routing-classifier", "operation": "auto_routing"}
    assert [metadata(span) for span in spans["reasoning_step"]] == [
        {"component": "reasoning-agent", "operation": "step_generation", "step": 1},
        {"component": "reasoning-agent", "operation": "step_generation", "step": 2},
    ]
    assert metadata(spans["synthesis"][0]) == {"component": "reasoning-agent", "operation": "synthesis"}


@pytest.mark.parametrize("stream", [False, True])
def test_a_passthrough_request_has_one_passthrough_child(client, exporter, stream):
    client.post("/v1/chat/completions", json=chat_body(stream=stream))
    spans = by_name(exporter)
    assert sorted(spans) == ["chat_completion", "passthrough"]
    [child] = spans["passthrough"]
    assert child.parent.span_id == spans["chat_completion"][0].context.span_id
    assert metadata(child) == {"component": "passthrough", "routing_path": "passthrough"}
    assert metadata(spans["chat_completion"][0]) == {"routing_mode": "passthrough", "routing_path": "passthrough"}


def test_every_upstream_call_carries_the_traceparent_of_its_span(client, proxy, exporter):
    proxy.decision = "reasoning"
    client.post("/v1/chat/completions", json=chat_body(), headers=AUTO)
    [root] = by_name(exporter)["chat_completion"]
    children = sorted((s for s in exporter.get_finished_spans() if s is not root), key=lambda s: s.start_time)
    assert len(proxy.requests) == len(children) == 3
    for request, span in zip(proxy.requests, children):
        trace_id, parent_id = traceparent_ids(request)
        assert trace_id == format(root.context.trace_id, "032x")
        assert parent_id == format(span.context.span_id, "016x")


def test_listing_models_is_traced_and_propagated_too(client, proxy, exporter):
    client.get("/v1/models")
    [span] = exporter.get_finished_spans()
    assert span.name == "list_models"
    assert traceparent_ids(proxy.requests[0]) == (
        format(span.context.trace_id, "032x"),
        format(span.context.span_id, "016x"),
    )


def test_each_request_is_its_own_trace(client, exporter):
    client.post("/v1/chat/completions", json=chat_body())
    client.post("/v1/chat/completions", json=chat_body())
    roots = by_name(exporter)["chat_completion"]
    assert len({root.context.trace_id for root in roots}) == 2


def test_an_upstream_error_marks_the_call_and_the_request(client, proxy, exporter):
    proxy.override = lambda request, body: httpx.Response(
        429, json={"error": {"message": "slow down", "type": "rate_limit_error", "code": "429"}}
    )
    response = client.post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    assert response.status_code == 429
    spans = by_name(exporter)
    [call] = spans["reasoning_step"]
    assert not call.status.is_ok and call.status.description == "HTTP 429 429"
    assert call.attributes["http.response.status_code"] == 429
    [root] = spans["chat_completion"]
    assert root.attributes["http.response.status_code"] == 429
    assert root.status.description == "HTTP 429"
    assert metadata(root) == {"routing_mode": "reasoning", "routing_path": "reasoning"}


def test_a_broken_stream_marks_the_synthesis_span(client, proxy, exporter):
    def broken_synthesis(request, body):
        if body.get("stream"):
            return httpx.Response(200, content=b'data: {"error": {"message": "gone"}}\n\n')
        return None

    proxy.override = broken_synthesis
    response = client.post("/v1/chat/completions", json=chat_body(stream=True), headers=REASONING)
    assert response.status_code == 200  # the stream had started: the error is an event
    [synthesis] = by_name(exporter)["synthesis"]
    assert synthesis.status.description.startswith("HTTP 502")


def test_requests_that_are_not_chat_completions_have_no_root_span(client, exporter):
    client.get("/health")
    client.get("/metrics")
    assert exporter.get_finished_spans() == ()


# --------------------------------------------------------------------------------------------------- sessions


@pytest.mark.parametrize(
    "headers, extra, expected",
    [
        ({"X-Session-Id": "conversation-42"}, {}, "conversation-42"),
        ({}, {"user": "user-7"}, "user-7"),
        ({"X-Session-Id": " conversation-42 "}, {"user": "user-7"}, "user-7"),
        ({"X-Session-Id": " "}, {"user": " "}, None),
        ({}, {}, None),
    ],
)
def test_the_session_id_comes_from_the_user_field_else_the_header(client, exporter, headers, extra, expected):
    response = client.post("/v1/chat/completions", json=chat_body(**extra), headers=headers)
    assert response.status_code == 200
    [root] = by_name(exporter)["chat_completion"]
    assert root.attributes.get("session.id") == expected


def test_two_requests_of_a_session_share_it(client, exporter):
    for _ in range(2):
        client.post("/v1/chat/completions", json=chat_body(), headers={"X-Session-Id": "conversation-1"})
    roots = by_name(exporter)["chat_completion"]
    assert [root.attributes["session.id"] for root in roots] == ["conversation-1", "conversation-1"]


def test_an_unusable_session_header_is_a_400(client, proxy):
    response = client.post("/v1/chat/completions", json=chat_body(), headers={"X-Session-Id": "x" * 257})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_session_id"
    assert response.json()["error"]["param"] == "X-Session-Id"
    assert proxy.requests == []


def test_the_user_field_reaches_every_call_litellm_gets(client, proxy):
    """LiteLLM gives its spans the end user (``user``) as session.id: every call of the request carries it."""
    proxy.decision = "reasoning"
    client.post("/v1/chat/completions", json=chat_body(user="user-7"), headers=AUTO)
    assert len(proxy.requests) == 3
    assert [r["json"].get("user") for r in proxy.requests] == ["user-7"] * 3


# --------------------------------------------------------------------------------------------------- secrets


def test_no_span_holds_the_key_or_a_header(client, proxy, exporter):
    proxy.decision = "reasoning"
    client.post("/v1/chat/completions", json=chat_body(), headers=AUTO)
    # The client's own bearer token (the conftest client sends it) must not reach a span either.
    client.post("/v1/chat/completions", json=chat_body(stream=True))
    proxy.override = lambda request, body: httpx.Response(401, json={"error": {"message": f"bad key {VIRTUAL_KEY}"}})
    client.post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    spans = exporter.get_finished_spans()
    assert len(spans) == 8  # 1 + 3 calls, 1 + 1 call, 1 + 1 failed call
    for span in spans:
        text = span.to_json()
        assert VIRTUAL_KEY not in text and CLIENT_TOKEN not in text, span.name
        assert not [name for name in span.attributes if "authorization" in name.lower() or "header" in name.lower()]
