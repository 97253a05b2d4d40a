"""The built collection, installed the way a user installs it, works outside this repository.

Builds the artifact with ``ansible-galaxy collection build``, installs it with ``ansible-galaxy collection install
--offline`` into a temporary folder, and runs a scratch playbook from another temporary folder: the key module and a
role, both by their full names. Nothing reaches a container or a LiteLLM: the module runs in check mode against a
closed port, the role stops at its argument validation. Its collections path holds the installed artifact and the
pinned dependencies, never this repository.
"""

import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
NAMESPACE, NAME = "llm_gateway", "stack"
MASTER_KEY = "sk-collection-test-" + "m" * 24
KEY_SECRET = "sk-collection-test-" + "k" * 24

PLAYBOOK = """\
- name: Use the installed collection by full names
  hosts: localhost
  gather_facts: false
  tasks:
    - name: A key without its secret is refused, naming the option
      llm_gateway.stack.litellm_virtual_key:
        url: http://127.0.0.1:9
        master_key: "{{ master_key }}"
        keys: [{alias: scratch-no-secret}]
      register: without_secret
      ignore_errors: true

    - name: In check mode an unreachable LiteLLM means every key would be created
      llm_gateway.stack.litellm_virtual_key:
        url: http://127.0.0.1:9
        master_key: "{{ master_key }}"
        keys: [{alias: scratch, secret: "{{ key_secret }}"}]
      check_mode: true
      register: unreachable

    - name: A role refuses a bad setting before it does anything
      block:
        - name: Apply the LiteLLM role with a port that is no number
          ansible.builtin.include_role:
            name: llm_gateway.stack.litellm
          vars:
            litellm_replica_published_port: not-a-port
            litellm_master_key: "{{ master_key }}"
            litellm_salt_key: "{{ master_key }}"
            litellm_database_password: unused
      rescue:
        - name: Keep the role's failure
          ansible.builtin.set_fact:
            role_failure: "{{ ansible_failed_result }}"

    - name: Hand the results to the test
      ansible.builtin.copy:
        content: "{{ {'without_secret': without_secret, 'unreachable': unreachable, 'role': role_failure} | to_json }}"
        dest: "{{ result_path }}"
        mode: "0600"
      check_mode: false
"""


def run(cmd, cwd, env=None):
    done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{cmd} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    run([str(BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(out), str(ROOT)], cwd=out)
    (tarball,) = out.glob(f"{NAMESPACE}-{NAME}-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def scratch(artifact, tmp_path_factory):
    """A folder outside the repository with an ansible.cfg whose collections path holds the installed artifact and
    the pinned dependencies (linked from .collections); returns (folder, environment)."""
    folder = tmp_path_factory.mktemp("scratch")
    installed = folder / "collections"
    # --force: without it, a copy found in the default collections path (molecule installs the project's collection
    # into ~/.ansible/collections) counts as "already installed" and the folder stays empty.
    run([str(BIN / "ansible-galaxy"), "collection", "install", "--offline", "--no-deps", "--force",
         "-p", str(installed), str(artifact)], cwd=folder)
    dependencies = folder / "dependencies" / "ansible_collections"
    dependencies.mkdir(parents=True)
    (dependencies / "community").symlink_to(ROOT / ".collections" / "ansible_collections" / "community")
    (folder / "ansible.cfg").write_text(
        f"[defaults]\ncollections_path = {installed}:{dependencies.parent}\nretry_files_enabled = false\n")
    (folder / "inventory.ini").write_text(
        f"localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n")
    (folder / "playbook.yml").write_text(PLAYBOOK)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(folder / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(folder / "ansible-local"))
    return folder, env


def test_artifact_holds_the_collection_and_not_the_deploy_layer(artifact):
    with tarfile.open(artifact) as tar:
        names = tar.getnames()
    tops = {name.split("/")[0] for name in names}
    assert {"roles", "plugins", "meta", "MANIFEST.json", "FILES.json", "LICENSE", "CHANGELOG.md"} <= tops
    assert not tops & {"site.yml", "playbooks", "inventories", "group_vars", "app", "images", "molecule", "scripts"}
    assert "plugins/modules/litellm_virtual_key.py" in names
    assert "tests/unit/plugins/modules/test_litellm_virtual_key.py" in names
    assert not [n for n in names if n.startswith(("tests/integration", "tests/e2e", "tests/day2"))]


def test_ansible_doc_shows_the_installed_module_and_roles(scratch):
    folder, env = scratch
    module = run([str(BIN / "ansible-doc"), "llm_gateway.stack.litellm_virtual_key"], cwd=folder, env=env).stdout
    assert str(folder / "collections" / "ansible_collections" / NAMESPACE / NAME) in module
    roles = run([str(BIN / "ansible-doc"), "-t", "role", "-l", "llm_gateway.stack"], cwd=folder, env=env).stdout
    assert "llm_gateway.stack.litellm:" in roles and "llm_gateway.stack.postgres:" in roles


def test_scratch_playbook_uses_the_module_and_a_role_by_full_name(scratch):
    folder, env = scratch
    result_path = folder / "result.json"
    done = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "inventory.ini", "playbook.yml", "-e",
         json.dumps({"master_key": MASTER_KEY, "key_secret": KEY_SECRET, "result_path": str(result_path)})],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    results = json.loads(result_path.read_text())

    assert results["without_secret"]["failed"] is True
    assert "secret" in results["without_secret"]["msg"], results["without_secret"]["msg"]
    assert results["unreachable"]["changed"] is True
    assert [(k["alias"], k["action"]) for k in results["unreachable"]["virtual_keys"]] == [("scratch", "created")]
    role = results["role"]
    assert "litellm_replica_published_port" in role["msg"], role["msg"]  # its argument validation names the variable
    assert role["validate_args_context"]["path"] == str(
        folder / "collections" / "ansible_collections" / NAMESPACE / NAME / "roles" / "litellm")
    assert MASTER_KEY not in output and KEY_SECRET not in output
