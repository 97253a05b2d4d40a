"""One trace per request in Phoenix, sessions, and the app's /metrics, against a deployed stack.

The app sends its own spans (root ``chat_completion``, a child per LiteLLM call) to Phoenix, and a W3C
``traceparent`` with every call, so LiteLLM's ``arize_phoenix`` spans (``litellm_proxy_request`` →
``litellm_request``) join the request's trace under the app's span of that call. Requests are found by a marker
in their prompt, which LiteLLM's spans hold; Phoenix is polled with a deadline, never slept on.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest

from conftest import assert_no_key_in_spans, forbidden_keys, phoenix_spans

APP_KEY_ALIAS = os.environ.get("LLM_GATEWAY_APP_KEY_ALIAS", "litellm-dev")
REASONING_STEPS = 2  # the fake upstream continues until "fake-steps=N" steps exist
PHOENIX_DEADLINE_S = 90
APP_CALLS = Counter({"routing_classifier": 1, "reasoning_step": REASONING_STEPS, "synthesis": 1})
COMPONENTS = {
    "routing_classifier": "routing-classifier",
    "reasoning_step": "reasoning-agent",
    "synthesis": "reasoning-agent",
}
REQUESTS_TOTAL = "reasoning_api_requests_total"
# One sample of Prometheus' text format: name{label="value",...} value (the app's labels hold no quote or newline).
SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$")
LABEL = re.compile(r'(?P<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?P<value>[^"]*)"')


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app_key(vault_vars) -> str:
    return vault_vars["litellm_keys_secrets"][APP_KEY_ALIAS]


@pytest.fixture(scope="module")
def metrics_before(http, urls) -> dict:
    return _app_metrics(http, urls)


@pytest.fixture(scope="module")
def since(metrics_before) -> datetime:
    """Where this module's span searches start (after the metrics were first read: they count its requests)."""
    return datetime.now(timezone.utc) - timedelta(minutes=2)


@pytest.fixture(scope="module")
def reasoning_trace(http, urls, since) -> list[dict]:
    """Every span of the trace of one auto-routed reasoning request, once Phoenix holds all of them."""
    marker = f"e2e-trace-{uuid.uuid4().hex}"
    response = http.post(
        f"{urls['app']}/v1/chat/completions",
        headers={"X-Routing-Mode": "auto"},
        json={
            "model": "gpt-4o",
            "messages": [{"role": "user", "content": f"please use reasoning fake-steps={REASONING_STEPS} {marker}"}],
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-routing-path"] == "reasoning"

    deadline = time.monotonic() + PHOENIX_DEADLINE_S
    while True:
        marked = phoenix_spans(http, urls, since=since, name=["litellm_request"])
        trace_ids = {span["context"]["trace_id"] for span in marked if marker in json.dumps(span["attributes"])}
        spans = phoenix_spans(http, urls, since=since, trace_id=sorted(trace_ids)) if len(trace_ids) == 1 else []
        names = Counter(span["name"] for span in spans)
        expected_litellm = sum(APP_CALLS.values())
        if (
            names["chat_completion"] == 1
            and all(names[name] == count for name, count in APP_CALLS.items())
            and names["litellm_proxy_request"] == names["litellm_request"] == expected_litellm
        ):
            return spans
        if time.monotonic() > deadline:
            pytest.fail(
                f"after {PHOENIX_DEADLINE_S} s the request's LiteLLM spans are in {len(trace_ids)} trace(s) "
                f"(expected 1) holding {dict(names)}"
            )
        time.sleep(1)


@pytest.fixture(scope="module")
def session_traces(http, urls, since) -> tuple[str, list[str]]:
    """Two passthrough requests of one conversation (X-Session-Id): the session id, and their trace ids."""
    session = f"e2e-session-{uuid.uuid4().hex}"
    for turn in (1, 2):
        response = http.post(
            f"{urls['app']}/v1/chat/completions",
            headers={"X-Routing-Mode": "passthrough", "X-Session-Id": session},
            json={"model": "gpt-4o", "messages": [{"role": "user", "content": f"turn {turn} of {session}"}]},
        )
        assert response.status_code == 200, response.text
    deadline = time.monotonic() + PHOENIX_DEADLINE_S
    while True:
        roots = phoenix_spans(http, urls, since=since, name=["chat_completion"], attribute=[f"session.id:{session}"])
        if len(roots) == 2 or time.monotonic() > deadline:
            return session, [root["context"]["trace_id"] for root in roots]
        time.sleep(1)


# --------------------------------------------------------------------------------------------------- one trace


def test_the_request_is_one_trace_under_the_apps_root_span(reasoning_trace):
    [root] = [span for span in reasoning_trace if span["name"] == "chat_completion"]
    assert root["parent_id"] is None
    attributes = root["attributes"]
    assert root["span_kind"] == "CHAIN"
    assert attributes["metadata.routing_mode"] == "auto"
    assert attributes["metadata.routing_path"] == "reasoning"
    assert attributes["metadata.reasoning_steps"] == REASONING_STEPS
    assert attributes["http.response.status_code"] == 200
    assert root["status_code"] == "OK"
    assert [span for span in reasoning_trace if span["parent_id"] is None] == [root]


def test_each_call_is_a_child_of_the_root_with_its_component(reasoning_trace):
    [root] = [span for span in reasoning_trace if span["name"] == "chat_completion"]
    calls = [span for span in reasoning_trace if span["name"] in APP_CALLS]
    assert Counter(span["name"] for span in calls) == APP_CALLS
    for span in calls:
        assert span["parent_id"] == root["context"]["span_id"], span["name"]
        assert span["attributes"]["metadata.component"] == COMPONENTS[span["name"]]
        assert span["status_code"] == "OK"
    assert sorted(span["attributes"]["metadata.step"] for span in calls if span["name"] == "reasoning_step") == [
        1,
        2,
    ]
    operations = {span["name"]: span["attributes"].get("metadata.operation") for span in calls}
    assert operations["routing_classifier"] == "auto_routing"
    assert operations["synthesis"] == "synthesis"


def test_litellms_spans_are_children_of_the_apps_call_spans(reasoning_trace):
    """traceparent joins LiteLLM's spans to the trace: litellm_proxy_request under the app's span of the call."""
    by_id = {span["context"]["span_id"]: span for span in reasoning_trace}
    proxy_spans = [span for span in reasoning_trace if span["name"] == "litellm_proxy_request"]
    assert len(proxy_spans) == sum(APP_CALLS.values())
    for proxy_span in proxy_spans:
        parent = by_id[proxy_span["parent_id"]]
        assert parent["name"] in APP_CALLS
        component = proxy_span["attributes"]["metadata.requester_metadata.component"]
        assert component == parent["attributes"]["metadata.component"]
        [request_span] = [
            span
            for span in reasoning_trace
            if span["parent_id"] == proxy_span["context"]["span_id"] and span["name"] == "litellm_request"
        ]
        assert request_span["attributes"]["metadata.requester_metadata.component"] == component
        assert request_span["attributes"]["metadata.user_api_key_alias"] == APP_KEY_ALIAS
    # LiteLLM takes the trace id of the traceparent as its own trace id (spend logs' session_id).
    trace_id = reasoning_trace[0]["context"]["trace_id"]
    assert {span["attributes"]["litellm.trace_id"] for span in proxy_spans} == {trace_id}


# --------------------------------------------------------------------------------------------------- sessions


def test_two_requests_of_a_session_share_its_id(http, urls, session_traces):
    session, trace_ids = session_traces
    assert len(set(trace_ids)) == 2, f"root spans with session.id {session}: {trace_ids}"
    response = http.post(
        f"{urls['phoenix']}/graphql",
        json={
            "query": "query ($id: String!) { getProjectSessionById(sessionId: $id) { numTraces "
            "traces(first: 10) { edges { node { traceId } } } } }",
            "variables": {"id": session},
        },
    )
    assert response.status_code == 200 and "errors" not in response.json(), response.text
    found = response.json()["data"]["getProjectSessionById"]
    assert found is not None, f"Phoenix has no session {session}"
    assert found["numTraces"] == 2
    assert {edge["node"]["traceId"] for edge in found["traces"]["edges"]} == set(trace_ids)


# --------------------------------------------------------------------------------------------------- metrics


def test_the_apps_metrics_count_the_requests(http, urls, metrics_before, reasoning_trace, session_traces):
    after = _app_metrics(http, urls)

    def grown(**labels) -> float:
        key = (REQUESTS_TOTAL, frozenset(labels.items()))
        return after.get(key, 0.0) - metrics_before.get(key, 0.0)

    assert grown(mode="auto", path="reasoning", status="200") == 1
    assert grown(mode="passthrough", path="passthrough", status="200") == 2
    calls = "reasoning_api_upstream_request_duration_seconds_count"
    key = (calls, frozenset({"component": "reasoning-agent", "operation": "step_generation"}.items()))
    assert after.get(key, 0.0) - metrics_before.get(key, 0.0) == REASONING_STEPS


# --------------------------------------------------------------------------------------------------- secrets


def test_no_span_or_metric_holds_a_key(http, urls, inspect, secrets, app_key, reasoning_trace, session_traces):
    session, trace_ids = session_traces
    spans = reasoning_trace + phoenix_spans(
        http, urls, since=datetime.now(timezone.utc) - timedelta(hours=1), trace_id=trace_ids
    )
    assert {"chat_completion", "passthrough", "litellm_proxy_request", "litellm_request"} <= {s["name"] for s in spans}
    forbidden = forbidden_keys(secrets, app_key, inspect)
    assert_no_key_in_spans(spans, forbidden)
    metrics_text = http.get(f"{urls['app']}/metrics").text
    assert "reasoning_api_requests_total" in metrics_text
    leaked = [what for what, value in forbidden.items() if value in metrics_text]
    assert not leaked and session not in metrics_text, f"/metrics holds {leaked or 'the session id'}"


# --------------------------------------------------------------------------------------------------- helpers


def _app_metrics(http, urls) -> dict:
    """{(sample name, frozenset of label pairs): value} of the app's /metrics."""
    response = http.get(f"{urls['app']}/metrics")
    assert response.status_code == 200, response.text
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            sample = SAMPLE.match(line)
            assert sample, f"not a Prometheus sample: {line!r}"
            labels = frozenset((m["name"], m["value"]) for m in LABEL.finditer(sample["labels"] or ""))
            samples[(sample["name"], labels)] = float(sample["value"])
    return samples

