"""plugins/lookup/deploy_inputs.py (plugin_utils/_deploy_inputs.py): one digest over what a run deploys from; equal exactly when those inputs are, and
never a way back to a secret; a run is complete only without tags, skipped tags, a limit, a start task or steps."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.plugin_utils._deploy_inputs import inputs_digest, run_is_complete


@pytest.fixture
def project(tmp_path):
    (tmp_path / "playbooks").mkdir()
    (tmp_path / "playbooks" / "site.yml").write_text("- import_playbook: a.yml\n")
    inventory = tmp_path / "inventory"
    (inventory / "group_vars" / "llm_gateway").mkdir(parents=True)
    (inventory / "vault").mkdir()
    (inventory / "tls").mkdir()
    (inventory / "hosts.yml").write_text("all: {}\n")
    (inventory / "group_vars" / "llm_gateway" / "main.yml").write_text("litellm_replicas: 1\n")
    (inventory / "vault" / "secrets.vault.yml").write_text("$ANSIBLE_VAULT;1.2;AES256;dev\n3031\n")
    (inventory / "tls" / "ca.crt").write_text("written by the run\n")
    return tmp_path


def digest(project, source="inventory", extra=(), env=None):
    return inputs_digest([str(project / "playbooks")], [str(project / source)], list(extra), ["OPENAI_API_KEY"],
                         env or {})


def test_the_same_inputs_give_the_same_digest_and_outputs_or_caches_do_not_count(project):
    before = digest(project)
    (project / "inventory" / "tls" / "ca.crt").write_text("written again\n")
    (project / "playbooks" / "__pycache__").mkdir()
    (project / "playbooks" / "__pycache__" / "x.cpython-312.pyc").write_bytes(b"\0")
    assert digest(project) == before
    assert len(before) == 64


@pytest.mark.parametrize("change", ["playbook", "group_vars", "vault", "hosts", "new file", "mode"])
def test_any_change_of_an_input_changes_the_digest(project, change):
    before = digest(project)
    path = {"playbook": "playbooks/site.yml", "group_vars": "inventory/group_vars/llm_gateway/main.yml",
            "vault": "inventory/vault/secrets.vault.yml", "hosts": "inventory/hosts.yml"}.get(change)
    if change == "new file":
        (project / "inventory" / "group_vars" / "llm_gateway" / "zz.yml").write_text("x: 1\n")
    elif change == "mode":
        (project / "playbooks" / "site.yml").chmod(0o755)
    else:
        (project / path).write_text((project / path).read_text() + "# changed\n")
    assert digest(project) != before


def test_an_inventory_file_counts_with_the_folders_beside_it(project):
    before = digest(project, source="inventory/hosts.yml")
    (project / "inventory" / "vault" / "secrets.vault.yml").write_text("$ANSIBLE_VAULT;1.2;AES256;dev\n3032\n")
    assert digest(project, source="inventory/hosts.yml") != before


def test_extra_variables_and_their_files_count(project):
    varsfile = project / "extra.yml"
    varsfile.write_text("litellm_replicas: 2\n")
    assert digest(project, extra=["litellm_replicas=2"]) != digest(project)
    before = digest(project, extra=["@" + str(varsfile)])
    varsfile.write_text("litellm_replicas: 3\n")
    assert digest(project, extra=["@" + str(varsfile)]) != before


def test_an_environment_value_counts_but_never_shows(project):
    secret = "sk-fake-upstream-key-0123456789"
    with_key = digest(project, env={"OPENAI_API_KEY": secret})
    assert with_key != digest(project)
    assert with_key == digest(project, env={"OPENAI_API_KEY": secret, "UNRELATED": "x"})
    assert secret not in with_key


def test_where_the_project_is_does_not_count(project, tmp_path_factory):
    import shutil
    elsewhere = tmp_path_factory.mktemp("clone") / "project"
    shutil.copytree(project, elsewhere)
    assert digest(elsewhere) == digest(project)


@pytest.mark.parametrize("args, complete", [
    ({}, True),
    ({"tags": ("all",), "skip_tags": ()}, True),
    ({"tags": ("litellm",)}, False),
    ({"skip_tags": ("phoenix",)}, False),
    ({"subset": "gw1"}, False),
    ({"start_at_task": "Deploy LiteLLM"}, False),
    ({"step": True}, False),
])
def test_only_a_run_of_every_task_on_every_host_is_complete(args, complete):
    assert run_is_complete(args) is complete
