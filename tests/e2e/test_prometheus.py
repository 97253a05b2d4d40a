"""The optional Prometheus (on in the test stack) scrapes the app's and LiteLLM's metrics over the stack's network."""

from __future__ import annotations

import time

import pytest

SCRAPE_DEADLINE_S = 60


def _until(what, probe, deadline_s=SCRAPE_DEADLINE_S):
    deadline = time.monotonic() + deadline_s
    while not (result := probe()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what} after {deadline_s} s")
        time.sleep(2)
    return result


def _query(http, urls, promql) -> list[dict]:
    response = http.get(f"{urls['prometheus']}/api/v1/query", params={"query": promql})
    response.raise_for_status()
    return response.json()["data"]["result"]


@pytest.mark.parametrize("job", ["reasoning-api", "litellm"])
def test_prometheus_scrapes_the_job(http, urls, job):
    def up():
        targets = http.get(f"{urls['prometheus']}/api/v1/targets").json()["data"]["activeTargets"]
        return [t for t in targets if t["labels"]["job"] == job and t["health"] == "up"]

    _until(f"no healthy {job} target in Prometheus", up)


def test_prometheus_holds_the_apps_and_litellms_request_counts(http, urls):
    # A request through the app moves both the app's and LiteLLM's counters.
    assert http.post(f"{urls['app']}/v1/chat/completions",
                     json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "counted"}]}).status_code == 200
    _until("no reasoning_api_requests_total in Prometheus", lambda: _query(http, urls, "reasoning_api_requests_total"))
    series = _until("no LiteLLM request series in Prometheus",
                    lambda: _query(http, urls, '{job="litellm", __name__=~"litellm_.*requests.*"}'))
    assert any(float(s["value"][1]) > 0 for s in series), series
