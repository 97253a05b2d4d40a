"""`make restart SERVICE=litellm` (playbooks/restart.yml) restarts the replicas one at a time through the balancer:
no request fails."""

from __future__ import annotations

from rollinglib import REPLICAS, Traffic, balancer_servers, inspect, playbook


def test_a_restart_of_litellm_fails_no_request():
    before = {name: inspect(name) for name in REPLICAS}

    with Traffic() as traffic:
        run = playbook("playbooks/restart.yml", "-e", "service=litellm")
        assert traffic.running, "the traffic ended before the restart did: " + traffic.summary()
    assert run.rc == 0, run
    assert traffic.failures == [], traffic.summary()
    assert traffic.ok > 0, traffic.summary()

    for name in REPLICAS:
        after = inspect(name)
        assert after["Id"] == before[name]["Id"], "a restart keeps the container"
        assert after["State"]["StartedAt"] > before[name]["State"]["StartedAt"], f"{name} was not restarted"
    # One at a time: each replica had left the balancer before its restart.
    order = [run.output.index(f"Restart the container {name}") for name in REPLICAS]
    assert order == sorted(order)
    assert {s["status"] for s in balancer_servers().values()} == {"UP"}
