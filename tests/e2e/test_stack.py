"""The stack runs for real: containers healthy, ports, volumes, readiness, a completion reaching the upstream, traces."""

from __future__ import annotations

import json
import os
import time

import httpx
import pytest

from conftest import CONTAINERS, container_env, litellm_chat

EXPECTED_PORTS = {
    "phoenix_db": {"5432/tcp": os.environ.get("PHOENIX_POSTGRES_PORT", "5432")},
    "litellm_db": {"5432/tcp": os.environ.get("LITELLM_POSTGRES_PORT", "5433")},
    "phoenix": {"6006/tcp": "6006", "4317/tcp": "4317"},
    # LiteLLM's port is the balancer's; the replica is reached on the stack's network only.
    "litellm": {},
    # And the TLS entry point's HTTPS and HTTP redirect, on the public address.
    "balancer": {"4000/tcp": "4000", "8443/tcp": os.environ.get("LLM_GATEWAY_HTTPS_PORT", "8443"),
                 "8080/tcp": os.environ.get("LLM_GATEWAY_HTTP_PORT", "8080")},
    "app": {"8000/tcp": "8000"},
}
BIND_ADDRESS = os.environ.get("LLM_GATEWAY_BIND_ADDRESS", "127.0.0.1")
# On several hosts each host publishes on its own address: by role, JSON.
BIND_ADDRESSES = json.loads(os.environ.get("LLM_GATEWAY_BIND_ADDRESSES", "{}"))
NETWORK = os.environ.get("LLM_GATEWAY_NETWORK", "reasoning-network")
# The TLS entry point's ports listen on llm_gateway_public_address (loopback unless the inventory says otherwise).
PUBLIC_ADDRESS = os.environ.get("LLM_GATEWAY_TLS_ADDRESS", "127.0.0.1")
PUBLIC_PORTS = {"8443/tcp", "8080/tcp"}


@pytest.mark.parametrize("role", sorted(CONTAINERS))
def test_container_is_running_and_healthy(inspect, role):
    info = inspect(role)
    assert info["State"]["Running"], f"{CONTAINERS[role]} is not running"
    assert info["State"]["Health"]["Status"] == "healthy"
    assert info["RestartCount"] == 0, f"{CONTAINERS[role]} restarted {info['RestartCount']} times"


@pytest.mark.parametrize("role", sorted(CONTAINERS))
def test_container_is_on_the_stack_network(inspect, role):
    assert NETWORK in inspect(role)["NetworkSettings"]["Networks"]


@pytest.mark.parametrize("role", sorted(EXPECTED_PORTS))
def test_ports_are_published_on_the_bind_address_only(inspect, host_of, role):
    bindings = inspect(role)["HostConfig"]["PortBindings"] or {}
    assert set(bindings) == set(EXPECTED_PORTS[role])
    for container_port, host_port in EXPECTED_PORTS[role].items():
        address = PUBLIC_ADDRESS if role == "balancer" and container_port in PUBLIC_PORTS else BIND_ADDRESSES.get(role, BIND_ADDRESS)
        assert bindings[container_port] == [{"HostIp": address, "HostPort": host_port}]
        assert host_of(role).socket(f"tcp://{address}:{host_port}").is_listening


@pytest.mark.parametrize(("role", "volume"), [("phoenix_db", "phoenix_postgres_data"), ("litellm_db", "litellm_postgres_data")])
def test_database_data_lives_in_its_named_volume(inspect, role, volume):
    mounts = {m["Destination"]: m for m in inspect(role)["Mounts"]}
    data = mounts["/var/lib/postgresql/data"]
    assert data["Type"] == "volume"
    assert data["Name"] == volume


def test_litellm_is_ready_with_its_database(http, urls):
    response = http.get(f"{urls['litellm']}/health/readiness")
    assert response.status_code == 200
    assert response.json()["db"] == "connected"


def balancer_backends(host_of) -> dict[str, dict[str, int]]:
    """HAProxy's counters of each backend (runtime API, `show stat` of the backends): the connections it opened to
    the servers, and the idle ones it reused."""
    script = 'exec 3<>/dev/tcp/127.0.0.1/9999 && echo "show stat -1 2 -1" >&3 && cat <&3'
    lines = host_of("balancer").check_output("docker exec %s bash -c %s", CONTAINERS["balancer"], script).splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line.strip()]
    return {row["pxname"]: {"connect": int(row["connect"] or 0), "reuse": int(row["reuse"] or 0)} for row in rows}


def test_the_balancer_sends_each_request_to_litellm_on_a_connection_of_its_own(host_of, urls):
    """One client connection, several requests: each reaches a replica on a new connection, never one that idled.
    A replica's worker closes an idle connection after its keep-alive time (2 s under gunicorn); a request the
    balancer sent on one as it closed came back to the client as a closed connection without an answer."""
    before = balancer_backends(host_of)["litellm"]
    with httpx.Client(timeout=30) as client:
        for _ in range(4):
            assert client.get(f"{urls['litellm']}/health/liveliness").status_code == 200
            time.sleep(0.2)
    after = balancer_backends(host_of)["litellm"]
    assert after["reuse"] == before["reuse"]
    assert after["connect"] - before["connect"] >= 4


def test_several_litellm_workers_share_one_gunicorn_master(inspect, host_of):
    """A replica with several workers loads LiteLLM once, in gunicorn's master (the replica's launcher, its entry
    point), which forks them; one worker runs alone. The process tree is what runs, not only the command the role
    passed."""
    command = inspect("litellm")["Config"]["Cmd"]
    workers = int(command[command.index("--num_workers") + 1])
    processes = host_of("litellm").check_output("docker top %s -o pid,ppid,args", CONTAINERS["litellm"]).splitlines()[1:]
    litellm = [line.split(None, 2) for line in processes if "/opt/llm-gateway/launch.py" in line]
    pids = {pid for pid, _, _ in litellm}
    masters = [pid for pid, ppid, _ in litellm if ppid not in pids]
    forked = [pid for pid, ppid, _ in litellm if ppid in pids]
    assert ("--run_gunicorn" in command) == (workers > 1), command
    assert (len(masters), len(forked)) == ((1, workers) if workers > 1 else (1, 0)), processes


def test_no_migrations_container_is_left_behind(host_of):
    """A first deploy applies LiteLLM's migrations in a one-shot container while Phoenix starts: gone once done."""
    left = host_of("litellm").check_output("docker ps -a --format '{{.Names}}' --filter name=%s-migrate", CONTAINERS["litellm"])
    assert left.split() == []


def test_phoenix_is_healthy(http, urls):
    assert http.get(f"{urls['phoenix']}/healthz").status_code == 200


def test_secrets_reach_only_the_containers_that_need_them(inspect, secrets):
    master, salt = secrets["litellm_master_key"], secrets["litellm_salt_key"]
    litellm_env = container_env(inspect("litellm"))
    assert litellm_env["LITELLM_MASTER_KEY"] == master
    assert litellm_env["LITELLM_SALT_KEY"] == salt
    app_env = container_env(inspect("app"))
    assert "OPENAI_API_KEY" not in app_env
    assert "LITELLM_MASTER_KEY" not in app_env
    assert not {master, salt, litellm_env["OPENAI_API_KEY"]} & set(app_env.values())
    for role in ("phoenix", "phoenix_db", "litellm_db", "balancer"):
        values = set(container_env(inspect(role)).values())
        assert not {master, salt, litellm_env["OPENAI_API_KEY"]} & values, f"{role} holds a LiteLLM secret"


def test_completion_with_the_master_key_reaches_the_upstream_with_the_real_key(
    http, urls, secrets, inspect, fake_openai_url
):
    http.delete(f"{fake_openai_url}/_fake/requests")
    response = litellm_chat(http, urls, secrets["litellm_master_key"], "ping from the stack test")
    assert response.status_code == 200, response.text
    assert "ping from the stack test" in response.json()["choices"][0]["message"]["content"]
    recorded = http.get(f"{fake_openai_url}/_fake/requests").json()
    upstream_key = container_env(inspect("litellm"))["OPENAI_API_KEY"]
    assert any(r["headers"].get("authorization") == f"Bearer {upstream_key}" for r in _as_list(recorded))


def test_litellm_spans_arrive_in_phoenix(http, urls, secrets):
    marker = f"trace-marker-{time.time_ns()}"
    response = litellm_chat(http, urls, secrets["litellm_master_key"], marker)
    assert response.status_code == 200, response.text
    project = os.environ.get("PHOENIX_PROJECT", "default")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        spans = http.get(f"{urls['phoenix']}/v1/projects/{project}/spans", params={"limit": 200}).json()["data"]
        if any(marker in str(span.get("attributes", {})) for span in spans):
            return
        time.sleep(2)
    pytest.fail(f"no span mentioning {marker} reached Phoenix project {project!r} within 60 s")


def _as_list(recorded):
    return recorded["requests"] if isinstance(recorded, dict) else recorded
