"""The stack spread over four hosts (molecule/multihost): each service on its group's host, every cross-host address
from the inventory, database ports open only to the hosts that use them, engines and libraries installed by the
playbook, images pulled from the private registry, and a prod run that changes nothing and leaks nothing.

Run by the scenario's verifier; the hosts are containers of this machine's engine (docker exec reaches their shell,
their own engine holds the stack).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import CONTAINERS, _vault_vars, container_env

ROOT = Path(__file__).resolve().parents[3]
MACHINES = yaml.safe_load((ROOT / "molecule/multihost/vars/machines.yml").read_text())
HOSTS = MACHINES["multihost_hosts"]
REGISTRY = f"{MACHINES['multihost_registry_ip']}:{MACHINES['multihost_registry_port']}"
# Which host runs which containers (the inventory's groups): the gateway host runs prod's two LiteLLM replicas, their
# balancer and the Redis they share.
PLACEMENT = {
    "mh-db": {CONTAINERS["phoenix_db"], CONTAINERS["litellm_db"]},
    "mh-obs": {CONTAINERS["phoenix"]},
    "mh-gw": {CONTAINERS["litellm"], CONTAINERS["litellm"] + "-2", CONTAINERS["balancer"], "litellm-redis"},
    "mh-app": {CONTAINERS["app"]},
}


def on(host: str, command: str) -> subprocess.CompletedProcess:
    """A shell command on one of the scenario's hosts."""
    return subprocess.run(["docker", "exec", host, "bash", "-c", command], capture_output=True, text=True, timeout=60)


def can_connect(source: str, address: str, port: int) -> bool:
    return on(source, f"timeout 3 bash -c '</dev/tcp/{address}/{port}'").returncode == 0


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_each_host_runs_exactly_its_groups_containers(host):
    running = set(on(host, "docker ps --format '{{.Names}}'").stdout.split())
    assert running == PLACEMENT[host]


def test_litellm_reaches_its_database_and_phoenix_on_their_hosts(inspect):
    env = container_env(inspect("litellm"))
    assert f"@{HOSTS['mh-db']}:5433/" in env["DATABASE_URL"]
    assert env["PHOENIX_COLLECTOR_HTTP_ENDPOINT"] == f"http://{HOSTS['mh-obs']}:6006/v1/traces"


def test_phoenix_reaches_its_database_on_its_host(inspect):
    env = container_env(inspect("phoenix"))
    assert f"@{HOSTS['mh-db']}:5432/" in env["PHOENIX_SQL_DATABASE_URL"]


def test_the_app_reaches_litellm_and_phoenix_on_their_hosts(inspect):
    env = container_env(inspect("app"))
    assert env["LLM_BASE_URL"] == f"http://{HOSTS['mh-gw']}:4000"
    assert env["TRACING_ENDPOINT"] == f"http://{HOSTS['mh-obs']}:6006/v1/traces"


@pytest.mark.parametrize(("source", "port", "allowed"), [
    ("mh-obs", 5432, True), ("mh-gw", 5433, True),     # each database's own clients
    ("mh-gw", 5432, False), ("mh-obs", 5433, False),   # the other database's clients
    ("mh-app", 5432, False), ("mh-app", 5433, False),  # the app needs neither
])
def test_a_database_port_is_open_only_to_the_hosts_that_use_it(source, port, allowed):
    assert can_connect(source, HOSTS["mh-db"], port) is allowed


def test_the_firewall_comes_back_after_the_rules_are_lost():
    """A flushed chain (a reboot, an engine restart) is rewritten by the next run of the databases play."""
    assert on("mh-db", "iptables -w -F LLM-GATEWAY-5433").returncode == 0
    assert can_connect("mh-app", HOSTS["mh-db"], 5433)
    run = ansible_playbook("playbooks/databases.yml")
    assert run.returncode == 0, run.stdout[-3000:]
    assert not can_connect("mh-app", HOSTS["mh-db"], 5433)
    assert can_connect("mh-gw", HOSTS["mh-db"], 5433)


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_the_playbook_installed_and_started_debians_docker_engine(host):
    assert on(host, "dpkg-query -W -f '${Status}' docker.io").stdout == "install ok installed"
    assert on(host, "docker version --format '{{.Server.Version}}'").stdout.strip().startswith("20.10")


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_httpx_is_installed_only_where_the_key_modules_run(host):
    """LiteLLM's virtual keys are ensured on the gateway host, Phoenix's API key on Phoenix's host."""
    installed = on(host, "dpkg-query -W -f '${Status}' python3-httpx").stdout == "install ok installed"
    assert installed is (host in ("mh-gw", "mh-obs"))


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_each_host_pulled_its_images_from_the_registry(host):
    images = set(on(host, "docker images --format '{{.Repository}}:{{.Tag}}'").stdout.split())
    assert images, f"{host} has no image"
    assert all(image.startswith(f"{REGISTRY}/") for image in images), images
    settings = on(host, "cat /etc/docker/daemon.json").stdout
    assert REGISTRY in yaml.safe_load(settings)["insecure-registries"]


def ansible_playbook(playbook: str, *args: str) -> subprocess.CompletedProcess:
    inventory = os.environ.get("LLM_GATEWAY_INVENTORY")
    assert inventory, "LLM_GATEWAY_INVENTORY is not set: the inventory of the deployed stack (molecule sets it)"
    return subprocess.run(["ansible-playbook", "-i", inventory, str(ROOT / playbook), *args],
                          capture_output=True, text=True, timeout=900, cwd=ROOT)


def test_an_unknown_host_key_is_refused(tmp_path):
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    # A fresh connection: no SSH master connection of an earlier run may be reused.
    env = dict(os.environ, ANSIBLE_SSH_ARGS="-o ControlMaster=no -o ControlPath=none")
    run = subprocess.run(
        ["ansible", "-i", os.environ["LLM_GATEWAY_INVENTORY"], "mh-app", "-m", "ansible.builtin.ping",
         "-e", f"ansible_ssh_common_args='-o UserKnownHostsFile={empty} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env)
    assert run.returncode != 0
    assert "Host key verification failed" in run.stdout + run.stderr


def test_a_second_prod_run_changes_nothing_keeps_the_vault_and_prints_no_secret():
    """The production guide's later runs: site.yml without generating secrets, -vvv, over SSH."""
    vault = sorted(Path(os.environ["LLM_GATEWAY_VAULT_DIR"]).glob("*.vault.yml"))
    before = {path: path.read_bytes() for path in vault}
    run = ansible_playbook("site.yml", "-vvv", "-e", "llm_gateway_secrets_generate=false")
    output = run.stdout + run.stderr
    assert run.returncode == 0, run.stdout[-3000:]
    recap = [line for line in run.stdout.splitlines() if "ok=" in line and "changed=" in line]
    assert len(recap) >= len(HOSTS) and all("changed=0" in line for line in recap), recap
    assert {path: path.read_bytes() for path in vault} == before
    values = _vault_vars()
    secrets = list(values["llm_gateway_secrets_values"].values()) + list(values["litellm_keys_secrets"].values())
    leaked = [secret[:6] + "…" for secret in secrets if secret in output]
    assert not leaked, f"secrets in the -vvv output: {leaked}"
