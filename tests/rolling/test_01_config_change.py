"""A configuration change (a model added) rolls over the replicas under traffic: each leaves the balancer, is
recreated with the new configuration, rejoins once ready; no request fails, and the next run changes nothing."""

from __future__ import annotations

from rollinglib import BALANCER, CHANGES, REPLICAS, STACK, URLS, Traffic, balancer_servers, inspect, playbook, vault

NEW_MODEL = {"name": "gpt-4.1-nano", "model": "openai/gpt-4.1-nano"}


def test_both_replicas_serve_behind_the_balancer(http):
    servers = balancer_servers()
    assert sorted(servers) == sorted(REPLICAS)
    assert {s["status"] for s in servers.values()} == {"UP"}
    before = {name: int(s["stot"]) for name, s in servers.items()}
    with Traffic(max_requests=200) as traffic:
        traffic.join()  # the threads end on their own once 200 answers are in
    assert traffic.failures == [], traffic.summary()
    assert traffic.sent >= 200, traffic.summary()
    after = balancer_servers()
    assert all(int(after[name]["stot"]) > before[name] for name in REPLICAS), after  # both took requests
    assert inspect(BALANCER)["NetworkSettings"]["Networks"]  # sanity: the balancer is on the stack network


def test_a_configuration_change_fails_no_request(http):
    before = {name: inspect(name)["Id"] for name in REPLICAS}
    CHANGES["llm_gateway_models"] = [*STACK["llm_gateway_models"], NEW_MODEL]

    with Traffic() as traffic:
        run = playbook("site.yml")
        assert traffic.running, "the traffic ended before the change did: " + traffic.summary()
    assert run.rc == 0, run
    assert traffic.failures == [], traffic.summary()
    assert traffic.ok > 0, traffic.summary()

    after = {name: inspect(name)["Id"] for name in REPLICAS}
    assert all(after[name] != before[name] for name in REPLICAS), "every replica is recreated with the new configuration"
    for name in REPLICAS:  # one at a time: out of the balancer before the change, back in after
        assert f"Send no new request to {name}" in run.output and f"Wait until the balancer sees up {name}" in run.output
    assert {s["status"] for s in balancer_servers().values()} == {"UP"}

    key = vault()["litellm_keys_secrets"]["litellm-dev"]
    response = http.post(f"{URLS['litellm']}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                         json={"model": NEW_MODEL["name"], "messages": [{"role": "user", "content": "new model"}]})
    assert response.status_code == 200, response.text

    again = playbook("site.yml")
    assert again.rc == 0 and again.changed == 0, again
