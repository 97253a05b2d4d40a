"""`site.yml --check` on a host where nothing of the stack exists: it must succeed and change nothing.

The stack is renamed (chk-* containers, network, volumes, directories, ports) so that it is fresh even on an engine
that runs another stack, and uses the upstream image source, whose images this engine has never pulled.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import uuid

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_inventory(tmp_path):
    prefix = f"chk{uuid.uuid4().hex[:6]}"
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "llm_gateway").mkdir(parents=True)
    shutil.copy(REPO / "inventories/dev/hosts.yml", inventory / "hosts.yml")
    names = {
        "llm_gateway_network": f"{prefix}-network",
        "phoenix_postgres_container_name": f"{prefix}-phoenix-postgres",
        "phoenix_postgres_volume_name": f"{prefix}_phoenix_postgres_data",
        "litellm_postgres_container_name": f"{prefix}-litellm-postgres",
        "litellm_postgres_volume_name": f"{prefix}_litellm_postgres_data",
        "phoenix_container_name": f"{prefix}-phoenix",
        "litellm_container_name": f"{prefix}-litellm",
        "reasoning_api_container_name": f"{prefix}-reasoning-api",
        "reasoning_api_image": f"llm-gateway/reasoning-api:{prefix}",
    }
    settings = names | {
        "llm_gateway_vault_id": "chk",
        "llm_gateway_image_source": "upstream",
        "reasoning_api_build_dir": str(tmp_path / "build"),
        "litellm_config_dir": str(tmp_path / "litellm"),
        # Ports nothing listens on, so that no other stack answers in place of this one (3xxxx: the day-2 scenario
        # uses 1xxxx and the rolling one 2xxxx, both running alongside in CI).
        "phoenix_postgres_published_port": 35432,
        "litellm_postgres_published_port": 35433,
        "phoenix_published_http_port": 36006,
        "phoenix_published_grpc_port": 34317,
        "litellm_published_port": 34000,
        "reasoning_api_published_port": 38000,
    }
    (inventory / "group_vars/llm_gateway/main.yml").write_text(yaml.safe_dump(settings))
    password = tmp_path / "vault-password"
    password.write_text("check-mode-test-only\n")
    return inventory, tmp_path, names, f"chk@{password}"


def test_check_mode_on_a_fresh_host_succeeds_and_changes_nothing(fresh_inventory):
    inventory, tmp_path, names, vault_identity = fresh_inventory
    env = os.environ | {"ANSIBLE_VAULT_IDENTITY_LIST": vault_identity, "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(
        ["ansible-playbook", "site.yml", "-i", str(inventory), "--check"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    recap = [line for line in run.stdout.splitlines() if line.startswith("localhost") and "ok=" in line][-1]
    assert "failed=0" in recap and "changed=0" not in recap, recap  # it reports what it would do
    assert "failed to look up group" not in run.stdout + run.stderr  # the certificate's group, made by a real run

    prefix = names["llm_gateway_network"].split("-")[0]
    assert _docker("ps", "-a", "-q", "--filter", f"name={prefix}") == ""
    assert prefix not in _docker("volume", "ls", "-q")
    assert prefix not in _docker("network", "ls", "--format", "{{.Name}}")
    assert prefix not in _docker("images", "--format", "{{.Tag}}")
    assert not (tmp_path / "build").exists() and not (tmp_path / "litellm").exists()
    assert sorted(p.name for p in (inventory / "group_vars/llm_gateway").iterdir()) == ["main.yml"]


def _docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout.strip()
