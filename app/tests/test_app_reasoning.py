import json

import pytest
from reasoning_api_fakes import USAGE, VIRTUAL_KEY, chat_body, parse_sse

from reasoning_api.reasoning import parse_step

REASONING = {"X-Routing-Mode": "reasoning"}
STEP = {"component": "reasoning-agent", "operation": "step_generation"}
SYNTHESIS = {"component": "reasoning-agent", "operation": "synthesis"}


def step(thought, action, answer=""):
    return json.dumps({"thought": thought, "next_action": action, "final_answer": answer})


def test_non_streamed_reasoning_makes_steps_then_streamed_synthesis(client, proxy):
    response = client.post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    assert response.status_code == 200
    assert response.headers["X-Routing-Path"] == "reasoning"
    assert response.headers["X-Reasoning-Steps"] == "1"
    payload = response.json()
    assert payload["object"] == "chat.completion"
    assert payload["choices"][0]["message"] == {"role": "assistant", "content": "Paris is the capital of France."}
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert payload["usage"] == USAGE
    assert payload["model"] == "gpt-4o-mini"

    step_call, synthesis_call = [r["json"] for r in proxy.requests]
    assert step_call["metadata"] == STEP
    assert step_call["response_format"] == {"type": "json_object"}
    assert "stream" not in step_call
    assert step_call["model"] == "gpt-4o-mini"
    assert step_call["messages"][0]["role"] == "system" and "JSON" in step_call["messages"][0]["content"]
    assert step_call["messages"][1:] == chat_body()["messages"]

    assert synthesis_call["metadata"] == SYNTHESIS
    assert synthesis_call["stream"] is True
    assert synthesis_call["stream_options"] == {"include_usage": True}
    assert "response_format" not in synthesis_call
    assert "It is a known fact." in synthesis_call["messages"][0]["content"]
    assert synthesis_call["messages"][1:] == chat_body()["messages"]
    assert all(r["headers"]["authorization"] == f"Bearer {VIRTUAL_KEY}" for r in proxy.requests)


def test_steps_continue_until_finish(client, proxy):
    proxy.steps = [step("one", "continue"), step("two", "continue"), step("three", "finish", "42")]
    response = client.post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    assert response.headers["X-Reasoning-Steps"] == "3"
    steps = proxy.calls(**STEP)
    assert len(steps) == 3
    assert len(proxy.calls(**SYNTHESIS)) == 1
    third = steps[2]["messages"]
    assert [m["role"] for m in third[-2:]] == ["assistant", "assistant"]
    assert json.loads(third[-2]["content"])["thought"] == "one"
    assert json.loads(third[-1]["content"])["thought"] == "two"
    synthesis_prompt = proxy.calls(**SYNTHESIS)[0]["messages"][0]["content"]
    assert (
        "Step 1: one" in synthesis_prompt
        and "Step 3: three" in synthesis_prompt
        and "Proposed answer: 42" in synthesis_prompt
    )


def test_steps_stop_at_the_maximum(make_client, proxy):
    proxy.steps = [step(f"s{i}", "continue") for i in range(10)]
    response = make_client(reasoning_max_steps=2).post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    assert response.status_code == 200
    assert len(proxy.calls(**STEP)) == 2
    assert len(proxy.calls(**SYNTHESIS)) == 1


def test_an_unparseable_step_ends_the_loop(client, proxy):
    proxy.steps = ["not json at all", step("never", "continue")]
    response = client.post("/v1/chat/completions", json=chat_body(), headers=REASONING)
    assert response.status_code == 200
    assert len(proxy.calls(**STEP)) == 1
    assert "not json at all" in proxy.calls(**SYNTHESIS)[0]["messages"][0]["content"]


def test_streamed_reasoning_relays_the_synthesis(client, proxy):
    body = chat_body(stream=True, stream_options={"include_usage": True})
    response = client.post("/v1/chat/completions", json=body, headers=REASONING)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["X-Routing-Path"] == "reasoning"
    events = parse_sse(response.text)
    assert events[-1] == "[DONE]"
    assert events[-2]["usage"] == USAGE
    text = "".join(e["choices"][0]["delta"].get("content") or "" for e in events[:-2])
    assert text == "Paris is the capital of France."
    assert [r["json"]["metadata"] for r in proxy.requests] == [STEP, SYNTHESIS]


def test_client_parameters_reach_the_right_calls(client, proxy):
    body = chat_body(temperature=0.2, max_tokens=77, top_p=0.9)
    client.post("/v1/chat/completions", json=body, headers=REASONING)
    [step_call] = proxy.calls(**STEP)
    [synthesis_call] = proxy.calls(**SYNTHESIS)
    assert step_call["temperature"] == 0.2 and step_call["top_p"] == 0.9
    assert "max_tokens" not in step_call
    assert synthesis_call["temperature"] == 0.2 and synthesis_call["max_tokens"] == 77


def test_default_mode_can_be_reasoning(make_client, proxy):
    response = make_client(default_routing_mode="reasoning").post("/v1/chat/completions", json=chat_body())
    assert response.headers["X-Routing-Path"] == "reasoning"
    assert proxy.calls(**STEP) and proxy.calls(**SYNTHESIS)


@pytest.mark.parametrize(
    "content, expected",
    [
        (step("t", "continue"), ("t", "continue", "")),
        (step("t", "continue_thinking"), ("t", "continue", "")),
        (step("t", "finish", "a"), ("t", "finish", "a")),
        (json.dumps({"thought": "t", "next_action": "FINISHED"}), ("t", "finish", "")),
        (json.dumps({"thought": "t"}), ("t", "finish", "")),
        ("[1, 2]", ("[1, 2]", "finish", "")),
        (None, ("", "finish", "")),
    ],
)
def test_parse_step(content, expected):
    parsed = parse_step(content)
    assert (parsed["thought"], parsed["next_action"], parsed["final_answer"]) == expected
