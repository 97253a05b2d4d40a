"""A run of site.yml from the same inputs as the last complete deploy, on a host still as that deploy left it, skips
every step but the key checks and the summary (playbooks/unchanged.yml); anything that drifted (a stopped container,
a configuration file edited by hand, a key deleted in LiteLLM) is still put right; -e llm_gateway_skip_unchanged=false
runs every step. One host only (the multihost scenario deselects this file: its own second run covers four hosts)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import CONTAINERS

SITE = str(Path(__file__).resolve().parents[2] / "site.yml")
UNCHANGED = "Nothing changed since the last complete deploy"
# A task of the LiteLLM role: in the output only when the steps run.
ROLE_TASK = "Write LiteLLM's configuration"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
RECAP = re.compile(r"\bok=\d+ +changed=(\d+)")


class Run:
    def __init__(self, *args: str):
        inventory = os.environ.get("LLM_GATEWAY_INVENTORY")
        if not inventory:
            pytest.fail("LLM_GATEWAY_INVENTORY is not set: the inventory of the deployed stack (molecule sets it)")
        done = subprocess.run(["ansible-playbook", "-i", inventory, SITE, *args], capture_output=True, text=True,
                              timeout=1200, check=False)
        # Molecule's environment colours the output.
        self.rc, self.output = done.returncode, ANSI.sub("", done.stdout + done.stderr)
        # The messages as one line: the output wraps them at the terminal's width.
        self.text = " ".join(self.output.split())
        recap = RECAP.findall(self.output)
        assert recap, f"no play recap in the output:\n{self.output[-3000:]}"
        self.changed = sum(int(changed) for changed in recap)

    def __repr__(self) -> str:
        return f"rc={self.rc} changed={self.changed}\n{self.output[-4000:]}"


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture(scope="module")
def recorded():
    """A complete run: afterwards the host holds the record of its deploy."""
    run = Run()
    assert run.rc == 0, run
    return run


def test_a_run_after_a_complete_deploy_skips_every_step_and_still_summarises(recorded):
    run = Run()
    assert run.rc == 0 and run.changed == 0, run
    assert UNCHANGED in run.text, run
    assert ROLE_TASK not in run.text, run
    assert "The stack is deployed." in run.text, run


def test_a_check_run_of_an_unchanged_stack_skips_every_step_too(recorded):
    run = Run("--check")
    assert run.rc == 0 and run.changed == 0, run
    assert UNCHANGED in run.text and ROLE_TASK not in run.text, run


def test_a_check_run_of_every_step_changes_nothing_and_names_the_certificate_group(recorded):
    """The entry point's certificate belongs to a group id the host names, so check mode has no group to warn about."""
    run = Run("--check", "-e", "llm_gateway_skip_unchanged=false")
    assert run.rc == 0 and run.changed == 0, run
    assert ROLE_TASK in run.text, run
    assert "failed to look up group" not in run.text, run
    group = subprocess.run(["getent", "group", "8443"], capture_output=True, text=True, check=False).stdout
    assert group.startswith("llm-gateway-tls:"), group


def test_a_key_deleted_in_litellm_is_made_again_with_the_same_secret(recorded, http, urls, secrets, vault_vars):
    alias = sorted(vault_vars["litellm_keys_secrets"])[0]
    master = {"Authorization": f"Bearer {secrets['litellm_master_key']}"}
    deleted = http.post(f"{urls['litellm']}/key/delete", headers=master, json={"key_aliases": [alias]})
    assert deleted.status_code == 200, deleted.text
    run = Run()
    assert run.rc == 0 and run.changed >= 1, run
    assert UNCHANGED in run.text, run
    secret = vault_vars["litellm_keys_secrets"][alias]
    response = http.post(f"{urls['litellm']}/v1/chat/completions", headers={"Authorization": f"Bearer {secret}"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "key made again"}]})
    assert response.status_code == 200, response.text


def test_a_stopped_container_makes_every_step_run_and_is_started_again(recorded):
    docker("stop", CONTAINERS["app"])
    run = Run()
    assert run.rc == 0, run
    assert f"{CONTAINERS['app']} is exited" in run.text and ROLE_TASK in run.text, run
    assert docker("inspect", "--format", "{{.State.Status}}", CONTAINERS["app"]) == "running"
    again = Run()
    assert again.changed == 0 and UNCHANGED in again.text, again


def test_a_configuration_file_edited_by_hand_is_written_back(recorded, inspect):
    folder = next(m["Source"] for m in inspect("balancer")["Mounts"] if m["Type"] == "bind")
    config = Path(folder) / "haproxy.cfg"
    original = config.read_text()
    config.write_text(original + "# edited by hand\n")
    run = Run()
    assert run.rc == 0, run
    assert "their configuration files or the firewall changed" in run.text, run
    assert config.read_text() == original
    again = Run()
    assert again.changed == 0 and UNCHANGED in again.text, again


def test_skip_unchanged_false_runs_every_step_and_changes_nothing(recorded):
    run = Run("-e", "llm_gateway_skip_unchanged=false")
    assert run.rc == 0 and run.changed == 0, run
    assert ROLE_TASK in run.text and UNCHANGED not in run.text, run
