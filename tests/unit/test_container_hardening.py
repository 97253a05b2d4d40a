"""roles/_container: the hardening inputs (issue 12) reach docker_container as Docker stores them, and each one is part
of the inputs digest, so that changing it recreates the container and an unchanged run leaves it alone."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

PLAYBOOKS = pathlib.Path(__file__).resolve().parent / "playbooks"
ROOT = PLAYBOOKS.parents[2]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"


def computed(tmp_path, **inputs):
    password = tmp_path / "vault-password"  # never the real dev vault password: nothing here is encrypted
    password.write_text("unit-not-a-secret\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VAULT_IDENTITY_LIST=f"dev@{password}", ANSIBLE_NOCOLOR="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"))
    run = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(PLAYBOOKS / "inventory" / "localhost.yml"),
                          str(PLAYBOOKS / "container_digest.yml"), "-e", json.dumps(inputs)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
    assert run.returncode == 0, run.stdout
    match = re.search(r'"msg": "(\{.*\})"', run.stdout)
    assert match, run.stdout
    return json.loads(json.loads(f'"{match.group(1)}"'))


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    return computed(tmp_path_factory.mktemp("baseline"))


def test_defaults_drop_every_capability_and_rotate_logs(baseline):
    assert baseline["hardening"] == {
        "cap_drop": ["ALL"], "capabilities": [], "security_opts": ["no-new-privileges:true"], "user": "",
        "read_only": False, "tmpfs": [], "memory": "", "pids_limit": None,
        "log_options": {"max-size": "10m", "max-file": "3"}}


def test_the_same_inputs_give_the_same_digest(baseline, tmp_path):
    assert computed(tmp_path)["digest"] == baseline["digest"]


def test_capability_names_are_given_as_docker_stores_them(tmp_path):
    # Docker reports CapAdd as CAP_X: given otherwise, docker_container would see a change on every run.
    hardening = computed(tmp_path, _container_cap_add=["chown", "CAP_SETUID", "Net_Bind_Service"],
                         _container_cap_drop=["ALL", "net_raw"])["hardening"]
    assert hardening["capabilities"] == ["CAP_CHOWN", "CAP_SETUID", "CAP_NET_BIND_SERVICE"]
    assert hardening["cap_drop"] == ["ALL", "CAP_NET_RAW"]


@pytest.mark.parametrize("name, value", [
    ("_container_cap_drop", ["CAP_NET_RAW"]),
    ("_container_cap_add", ["CHOWN"]),
    ("_container_no_new_privileges", False),
    ("_container_user", "999:999"),
    ("_container_read_only", True),
    ("_container_tmpfs", ["/tmp:size=64m"]),
    ("_container_memory", "512m"),
    ("_container_pids_limit", 256),
    ("_container_log_max_size", "20m"),
    ("_container_log_max_files", 5),
])
def test_each_hardening_input_changes_the_digest(baseline, tmp_path, name, value):
    assert computed(tmp_path, **{name: value})["digest"] != baseline["digest"], name


def test_an_entry_point_changes_the_digest_and_none_keeps_the_earlier_one(baseline, tmp_path):
    # Containers without an entry point of their own keep the digest they had before the option existed.
    assert computed(tmp_path, _container_entrypoint=[])["digest"] == baseline["digest"]
    launcher = computed(tmp_path, _container_entrypoint=["python", "/opt/llm-gateway/launch.py"])["digest"]
    assert launcher != baseline["digest"]
    assert computed(tmp_path, _container_entrypoint=["python", "/opt/other.py"])["digest"] != launcher
