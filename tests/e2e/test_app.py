"""The application side: reasoning-api answers through its virtual key, and every LLM call it makes is traced in
Phoenix (component / operation / key alias) and billed to its key in LiteLLM's spend logs.

Each request carries a unique marker in its prompt; spans and spend logs are tied to the requests by that marker
(and by LiteLLM's per-call id, ``litellm.trace_id`` on the span = ``session_id`` in the spend log). Nothing here
sleeps for a fixed time: Phoenix (batched span export) and the spend logs (batched DB writes) are polled with a
deadline.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from conftest import (INVENTORY_KEYS, PHOENIX_PROJECT, assert_no_key_in_spans, container_env, forbidden_keys, key_info,
                      phoenix_spans, sha256_hex)

APP_KEY_ALIAS = os.environ.get("LLM_GATEWAY_APP_KEY_ALIAS", "litellm-dev")
LLM_BASE_URL = os.environ.get("LLM_GATEWAY_APP_LLM_BASE_URL", "http://litellm:4000")
CLIENT_MODEL = "gpt-4o"  # what the client asks for; the classifier uses ROUTING_CLASSIFIER_MODEL (gpt-4o-mini)
CLASSIFIER_MODEL = "gpt-4o-mini"
REASONING_STEPS = 2  # the fake upstream continues until "fake-steps=N" steps exist
PHOENIX_DEADLINE_S = 90
SPEND_DEADLINE_S = 120


@dataclass(frozen=True)
class Case:
    mode: str  # X-Routing-Mode sent
    stream: bool
    path: str  # X-Routing-Path expected (auto: steered by the words of the prompt, see the fake upstream)

    @property
    def id(self) -> str:
        return f"{self.mode}->{self.path}-{'stream' if self.stream else 'json'}"

    @property
    def expected_calls(self) -> Counter:
        """(component, operation) of each LiteLLM call the app makes for this case."""
        calls: Counter = Counter()
        if self.mode == "auto":
            calls[("routing-classifier", "auto_routing")] += 1
        if self.path == "passthrough":
            calls[("passthrough", None)] += 1
        else:
            calls[("reasoning-agent", "step_generation")] += REASONING_STEPS
            calls[("reasoning-agent", "synthesis")] += 1
        return calls


CASES = [
    Case(mode, stream, path)
    for mode, path in [
        ("passthrough", "passthrough"),
        ("reasoning", "reasoning"),
        ("auto", "reasoning"),
        ("auto", "passthrough"),
    ]
    for stream in (False, True)
]
CASE_IDS = [case.id for case in CASES]


@dataclass
class Call:
    case: Case
    marker: str
    prompt: str
    status: int
    headers: dict
    text: str
    started: datetime
    spans: list = field(default_factory=list)  # litellm_request spans of this call, filled by the phoenix fixture


# --------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def app_key(vault_vars) -> str:
    return vault_vars["litellm_keys_secrets"][APP_KEY_ALIAS]


@pytest.fixture(scope="module")
def master_headers(secrets) -> dict:
    return {"Authorization": f"Bearer {secrets['litellm_master_key']}"}


@pytest.fixture(scope="module")
def spend_before(http, urls, master_headers, app_key) -> float:
    return key_info(http, urls, master_headers, app_key)["spend"]


@pytest.fixture(scope="module")
def calls(http, urls, spend_before) -> dict[str, Call]:
    """One request per case through the app, each with its own marker."""
    made = {}
    for case in CASES:
        marker = f"e2e-{uuid.uuid4().hex}"
        # Only the reasoning-steered prompts say "reasoning": the fake classifier picks the first enum value it finds.
        words = "please use reasoning" if case.path == "reasoning" else "a plain question"
        prompt = f"{words} fake-steps={REASONING_STEPS} marker {marker}"
        started = datetime.now(timezone.utc)
        response = http.post(
            f"{urls['app']}/v1/chat/completions",
            headers={"X-Routing-Mode": case.mode},
            json={"model": CLIENT_MODEL, "stream": case.stream, "messages": [{"role": "user", "content": prompt}]},
        )
        made[case.id] = Call(case, marker, prompt, response.status_code, dict(response.headers), response.text, started)
    return made


@pytest.fixture(scope="module")
def traced(http, urls, calls) -> dict[str, Call]:
    """The calls, with their litellm_request spans once Phoenix holds all the expected ones (or the deadline passed)."""
    since = min(call.started for call in calls.values()) - timedelta(minutes=2)
    deadline = time.monotonic() + PHOENIX_DEADLINE_S
    while True:
        spans = phoenix_spans(http, urls, since=since, name=["litellm_request"])
        for call in calls.values():
            call.spans = [span for span in spans if call.marker in json.dumps(span["attributes"])]
        if all(_components(call.spans) == call.case.expected_calls for call in calls.values()):
            return calls
        if time.monotonic() > deadline:
            return calls  # the tests say what is missing
        time.sleep(1)


# --------------------------------------------------------------------------------------------------- the app answers


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_app_answers_on_the_routing_path(calls, case_id):
    call = calls[case_id]
    assert call.status == 200, call.text
    assert call.headers["x-routing-path"] == call.case.path
    if call.case.path == "reasoning":
        assert call.headers["x-reasoning-steps"] == str(REASONING_STEPS)
    else:
        assert "x-reasoning-steps" not in call.headers
    expected = f"Fake reply to: {call.prompt}"  # the fake upstream's answer to the client's last message
    if call.case.stream:
        assert call.headers["content-type"].startswith("text/event-stream")
        chunks = _sse_chunks(call.text)
        assert {chunk["object"] for chunk in chunks} == {"chat.completion.chunk"}
        assert "".join(_delta_content(chunk) for chunk in chunks) == expected
        assert [choice.get("finish_reason") for chunk in chunks for choice in chunk["choices"]].count("stop") == 1
    else:
        assert call.headers["content-type"].startswith("application/json")
        body = json.loads(call.text)
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"] == expected
        assert body["usage"]["total_tokens"] > 0


def test_app_lists_the_models_of_its_key(http, urls, app_key):
    through_app = http.get(f"{urls['app']}/v1/models")
    direct = http.get(f"{urls['litellm']}/v1/models", headers={"Authorization": f"Bearer {app_key}"})
    assert through_app.status_code == direct.status_code == 200
    assert {m["id"] for m in through_app.json()["data"]} == {m["id"] for m in direct.json()["data"]}
    assert {CLIENT_MODEL, CLASSIFIER_MODEL} <= {m["id"] for m in through_app.json()["data"]}


def test_upstream_sees_the_real_key_never_the_virtual_key(http, urls, inspect, app_key, fake_openai_url):
    marker = f"e2e-upstream-{uuid.uuid4().hex}"
    response = http.post(
        f"{urls['app']}/v1/chat/completions",
        headers={"X-Routing-Mode": "passthrough"},
        json={"model": CLIENT_MODEL, "messages": [{"role": "user", "content": marker}]},
    )
    assert response.status_code == 200, response.text
    recorded = http.get(f"{fake_openai_url}/_fake/requests").json()["requests"]
    mine = [r for r in recorded if marker in json.dumps(r.get("body"))]
    assert len(mine) == 1, f"the upstream recorded {len(mine)} requests with {marker}"
    upstream_key = container_env(inspect("litellm"))["OPENAI_API_KEY"]
    assert mine[0]["headers"]["authorization"] == f"Bearer {upstream_key}"
    assert app_key not in json.dumps(mine[0])


# --------------------------------------------------------------------------------------------------- Phoenix


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_phoenix_holds_a_span_per_llm_call_with_component_and_operation(traced, case_id):
    call = traced[case_id]
    assert call.status == 200, call.text
    assert (
        _components(call.spans) == call.case.expected_calls
    ), f"litellm_request spans with {call.marker} in Phoenix within {PHOENIX_DEADLINE_S} s"
    for span in call.spans:
        attributes = span["attributes"]
        expected_model = CLASSIFIER_MODEL if _component(span) == "routing-classifier" else CLIENT_MODEL
        assert attributes["llm.model_name"] == expected_model
        assert span["status_code"] == "OK"
        if _component(span) == "passthrough":
            assert attributes["metadata.requester_metadata.routing_path"] == "passthrough"


@pytest.mark.parametrize("case_id", CASE_IDS)
def test_spans_carry_the_apps_key_alias_and_hash(traced, case_id, app_key):
    call = traced[case_id]
    assert call.spans, f"no span with {call.marker} in Phoenix"
    for span in call.spans:
        attributes = span["attributes"]
        assert attributes["metadata.user_api_key_alias"] == APP_KEY_ALIAS
        assert attributes["litellm.key_alias"] == APP_KEY_ALIAS
        assert attributes["metadata.user_api_key_hash"] == sha256_hex(app_key)
        assert attributes["metadata.user_api_key_auth_metadata.environment"] == INVENTORY_KEYS[APP_KEY_ALIAS]["environment"]


@pytest.mark.parametrize(
    ("component", "operation"),
    [
        ("passthrough", None),
        ("reasoning-agent", "step_generation"),
        ("reasoning-agent", "synthesis"),
        ("routing-classifier", "auto_routing"),
    ],
)
def test_phoenix_filters_spans_by_component(http, urls, traced, component, operation):
    """Component is a first-class attribute: REST's attribute filter and the UI's filter expression both find it."""
    mine = {
        span["context"]["span_id"]
        for call in traced.values()
        for span in call.spans
        if (_component(span), _operation(span)) == (component, operation)
    }
    assert mine, f"none of this module's spans has component {component} / operation {operation}"
    since = min(call.started for call in traced.values()) - timedelta(minutes=2)
    attribute_filter = [f"metadata.requester_metadata.component:{component}"]
    if operation:
        attribute_filter.append(f"metadata.requester_metadata.operation:{operation}")
    rest = phoenix_spans(http, urls, since=since, name=["litellm_request"], attribute=attribute_filter)
    assert mine <= {span["context"]["span_id"] for span in rest}
    assert {_component(span) for span in rest} == {component}

    condition = f"span_kind == 'LLM' and metadata['requester_metadata']['component'] == '{component}'"
    if operation:
        condition += f" and metadata['requester_metadata']['operation'] == '{operation}'"
    found = _phoenix_graphql_span_ids(http, urls, condition, since=since)
    assert mine <= found


def test_no_span_holds_a_key(http, urls, traced, inspect, secrets, app_key):
    """All spans of the app's traces (litellm_proxy_request, litellm_request, raw_gen_ai_request), events included."""
    trace_ids = sorted({span["context"]["trace_id"] for call in traced.values() for span in call.spans})
    assert len(trace_ids) == len(traced), "each request through the app is one trace"
    since = min(call.started for call in traced.values()) - timedelta(minutes=2)
    spans = []
    for start in range(0, len(trace_ids), 20):
        spans += phoenix_spans(http, urls, since=since, trace_id=trace_ids[start : start + 20])
    assert {"litellm_proxy_request", "litellm_request"} <= {span["name"] for span in spans}
    assert_no_key_in_spans(spans, forbidden_keys(secrets, app_key, inspect))


# --------------------------------------------------------------------------------------------------- spend


def test_spend_logs_attribute_every_call_to_the_apps_key(http, urls, traced, master_headers, app_key):
    """Each LLM call has a spend log naming the app's key hash and alias. Its session_id is the span's
    litellm.trace_id: the trace of the app's request, shared by that request's calls."""
    calls = [span for call in traced.values() for span in call.spans]
    assert len(calls) == sum(sum(case.expected_calls.values()) for case in CASES)
    wanted = Counter(span["attributes"]["litellm.trace_id"] for span in calls)
    models = {trace: {s["attributes"]["llm.model_name"] for s in calls if s["attributes"]["litellm.trace_id"] == trace}
              for trace in wanted}
    deadline = time.monotonic() + SPEND_DEADLINE_S
    while True:
        logs = http.get(
            f"{urls['litellm']}/spend/logs", params={"api_key": sha256_hex(app_key)}, headers=master_headers
        ).json()
        found = [log for log in logs if log["session_id"] in wanted]
        if Counter(log["session_id"] for log in found) == wanted or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert Counter(log["session_id"] for log in found) == wanted, f"calls without a spend log after {SPEND_DEADLINE_S} s"
    for log in found:
        assert log["api_key"] == sha256_hex(app_key)
        assert log["metadata"]["user_api_key_alias"] == APP_KEY_ALIAS
        assert log["status"] == "success"
        assert log["model_group"] in models[log["session_id"]]
        assert log["total_tokens"] > 0
        assert log["spend"] > 0


def test_the_apps_key_spend_grows_by_its_calls(http, urls, traced, master_headers, app_key, spend_before):
    """/key/info's spend of the app's key rises at least by what this module's calls cost (others may add more)."""
    cost = sum(span["attributes"]["llm.response.cost"] for call in traced.values() for span in call.spans)
    assert cost > 0
    deadline = time.monotonic() + SPEND_DEADLINE_S
    while (spend := key_info(http, urls, master_headers, app_key)["spend"]) < spend_before + cost * 0.999:
        if time.monotonic() > deadline:
            pytest.fail(f"key spend {spend} did not reach {spend_before} + {cost} within {SPEND_DEADLINE_S} s")
        time.sleep(2)


# --------------------------------------------------------------------------------------------------- container


def test_app_container_holds_only_its_virtual_key(inspect, vault_vars, secrets):
    """Its own secrets only: its virtual key, the tokens its clients send, the key it exports spans to Phoenix with."""
    env = container_env(inspect("app"))
    assert env["LLM_API_KEY"] == vault_vars["litellm_keys_secrets"][APP_KEY_ALIAS]
    assert env["LLM_BASE_URL"].rstrip("/").removesuffix("/v1") == LLM_BASE_URL
    assert secrets["reasoning_api_client_token"] in env["API_CLIENT_TOKENS"].split(",")
    assert env["TRACING_API_KEY"] == secrets["phoenix_api_key"]
    secretish = {name for name in env if any(word in name.upper() for word in ("KEY", "SECRET", "TOKEN", "PASSWORD"))}
    assert secretish == {"LLM_API_KEY", "API_CLIENT_TOKENS", "TRACING_API_KEY"}
    upstream_key = container_env(inspect("litellm"))["OPENAI_API_KEY"]
    other_secrets = {secrets["litellm_master_key"], secrets["litellm_salt_key"], upstream_key}
    other_secrets |= {secrets[name] for name in ("phoenix_secret", "phoenix_admin_secret", "phoenix_admin_password",
                                                 "litellm_ui_password", "redis_password")}
    other_secrets |= {v for k, v in vault_vars["litellm_keys_secrets"].items() if k != APP_KEY_ALIAS}
    assert not other_secrets & set(env.values())
    assert [name for name, value in env.items() if "sk-" in value] == ["LLM_API_KEY"]


# --------------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("stream", [False, True], ids=["json", "stream"])
def test_invalid_routing_header_is_an_openai_style_400(http, urls, stream):
    response = http.post(
        f"{urls['app']}/v1/chat/completions",
        headers={"X-Routing-Mode": "telepathy"},
        json={"model": CLIENT_MODEL, "stream": stream, "messages": [{"role": "user", "content": "hello"}]},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_routing_mode"
    assert error["param"] == "X-Routing-Mode"
    assert "telepathy" in error["message"]


def test_request_without_messages_is_an_openai_style_400(http, urls):
    response = http.post(f"{urls['app']}/v1/chat/completions", json={"model": CLIENT_MODEL, "messages": []})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == "messages"


@pytest.mark.parametrize(
    ("mode", "stream"), [("passthrough", False), ("passthrough", True), ("reasoning", False), ("auto", True)]
)
def test_model_outside_the_keys_list_keeps_litellms_status_and_error(
    http, urls, master_headers, app_key, secrets, mode, stream
):
    """LiteLLM's refusal reaches the client with LiteLLM's status and OpenAI-style error, and no key.

    The app's key lists the proxy's models, so LiteLLM answers 403 key_model_access_denied.
    """
    model = f"not-deployed-{uuid.uuid4().hex[:8]}"
    assert key_info(http, urls, master_headers, app_key)["models"], "the app's key lists no model"
    expected_status, expected_type = 403, "key_model_access_denied"
    body = {"model": model, "stream": stream, "messages": [{"role": "user", "content": "which model?"}]}

    direct = http.post(
        f"{urls['litellm']}/v1/chat/completions", headers={"Authorization": f"Bearer {app_key}"}, json=body
    )
    assert direct.status_code == expected_status, direct.text
    response = http.post(f"{urls['app']}/v1/chat/completions", headers={"X-Routing-Mode": mode}, json=body)
    assert response.status_code == expected_status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == expected_type == direct.json()["error"]["type"]
    assert error["code"] == str(expected_status) == direct.json()["error"]["code"]
    assert model in error["message"]
    for secret in (app_key, secrets["litellm_master_key"]):
        assert secret not in response.text
    assert "Traceback" not in response.text


# --------------------------------------------------------------------------------------------------- helpers


def _sse_chunks(text: str) -> list[dict]:
    """The JSON chunks of an SSE body, checking its framing: only `data:` events, the last one `[DONE]`."""
    events = [event for event in text.split("\n\n") if event.strip()]
    assert text.endswith("\n\n"), "the stream does not end with a blank line"
    assert all(event.startswith("data: ") for event in events), "a stream event is not a data: event"
    assert events[-1] == "data: [DONE]", f"the stream ends with {events[-1]!r}"
    assert events.count("data: [DONE]") == 1
    chunks = [json.loads(event.removeprefix("data: ")) for event in events[:-1]]
    assert chunks, "the stream holds no chunk"
    assert not [chunk for chunk in chunks if "error" in chunk], "the stream holds an error event"
    return chunks


def _delta_content(chunk: dict) -> str:
    return "".join(choice.get("delta", {}).get("content") or "" for choice in chunk["choices"])



def _component(span: dict) -> str | None:
    return span["attributes"].get("metadata.requester_metadata.component")


def _operation(span: dict) -> str | None:
    return span["attributes"].get("metadata.requester_metadata.operation")


def _components(spans: list[dict]) -> Counter:
    return Counter((_component(span), _operation(span)) for span in spans)



_GRAPHQL_SPANS = """
query ($project: ID!, $condition: String, $after: String, $start: DateTime!) {
  node(id: $project) {
    ... on Project {
      spans(first: 1000, after: $after, filterCondition: $condition, timeRange: {start: $start}) {
        edges { node { context { spanId } } }
        pageInfo { hasNextPage endCursor }
      }
    }
  }
}
"""


def _phoenix_graphql_span_ids(http, urls, condition: str, *, since: datetime) -> set[str]:
    """Span ids matching a filter expression (the Phoenix UI's span filter), through its GraphQL API."""
    projects = http.get(f"{urls['phoenix']}/v1/projects").json()["data"]
    project = next(p["id"] for p in projects if p["name"] == PHOENIX_PROJECT)
    variables = {"project": project, "condition": condition, "after": None, "start": since.isoformat()}
    ids: set[str] = set()
    while True:
        response = http.post(f"{urls['phoenix']}/graphql", json={"query": _GRAPHQL_SPANS, "variables": variables})
        assert response.status_code == 200, response.text
        assert "errors" not in response.json(), response.json()["errors"]
        spans = response.json()["data"]["node"]["spans"]
        ids |= {edge["node"]["context"]["spanId"] for edge in spans["edges"]}
        if not spans["pageInfo"]["hasNextPage"]:
            return ids
        variables["after"] = spans["pageInfo"]["endCursor"]
