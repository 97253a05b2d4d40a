"""site.yml refuses settings that span roles before it changes anything, naming the variable and the value.

Each case runs the real site.yml on a throwaway copy of the dev inventory with one bad setting (-e). As a safety
net the copy generates no secrets: should the preflight let a case through, the secrets step stops the run before
any container or network is touched. The proof is the failed task being a preflight check, and no vault written.
"""

import json
import os
import pathlib
import re
import subprocess
import sys
import uuid

import pytest
import yaml
from ansible_output import copy_dev_inventory, error_message, failed_task

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
PREFLIGHT_TASKS = [t["name"] for t in yaml.safe_load((ROOT / "roles/llm_gateway_preflight/tasks/main.yml").read_text())]
MODELS = [{"name": "gpt-4o", "model": "openai/gpt-4o"}, {"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini"}]


@pytest.fixture
def inventory(tmp_path):
    return copy_dev_inventory(tmp_path)


def run_site(inv, variables):
    password = inv.parent / "vault-password"
    password.write_text(f"unit-{uuid.uuid4().hex}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VAULT_IDENTITY_LIST=f"dev@{password}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(inv.parent / "ansible-local"))
    # The run compares the host with a record of its own: a dev stack's record on this machine is left alone.
    extra = dict(variables, llm_gateway_secrets_generate=False, llm_gateway_record_file=str(inv.parent / "record.json"))
    return subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inv), "site.yml", "-e", json.dumps(extra)], cwd=ROOT,
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=180)


def keys(**settings):
    return [{"alias": "litellm-dev"}, dict({"alias": "litellm-eval"}, **settings)]


# (variables, what the message must say: the variable and the value)
BAD_SETTINGS = {
    "same host port": ({"reasoning_api_published_port": 6006},
                       ["phoenix_published_http_port (127.0.0.1:6006) and reasoning_api_published_port (127.0.0.1:6006)"]),
    "same port on a wildcard address": ({"reasoning_api_bind_address": "0.0.0.0", "reasoning_api_published_port": 4000},
                                        ["litellm_published_port (127.0.0.1:4000) and reasoning_api_published_port (0.0.0.0:4000)"]),
    "negative budget": ({"litellm_keys_wanted": keys(max_budget=-1)}, ["litellm_keys_wanted", "'litellm-eval' has max_budget: -1"]),
    "negative limit": ({"litellm_keys_wanted": keys(rpm_limit=-10)}, ["litellm_keys_wanted", "'litellm-eval' has rpm_limit: -10"]),
    "model not served": ({"litellm_keys_wanted": keys(models=["gpt-5"])},
                         ["litellm_keys_wanted", "'litellm-eval' names models the proxy does not serve: gpt-5"]),
    "unparsable duration": ({"litellm_keys_wanted": keys(duration="thirty days")},
                            ["litellm_keys_wanted", "'litellm-eval' has duration: 'thirty days'"]),
    "empty model name": ({"llm_gateway_models": [*MODELS, {"name": "", "model": "openai/x"}]},
                         ["llm_gateway_models", "entry 2 has the name ''"]),
    "model name with a space": ({"llm_gateway_models": [*MODELS, {"name": "gpt 4", "model": "openai/x"}]},
                                ["llm_gateway_models", "entry 2 has the name 'gpt 4'"]),
    "api_base not a URL": ({"llm_gateway_models": [{"name": "gpt-4o", "model": "openai/gpt-4o", "api_base": "fake:8080"}]},
                           ["llm_gateway_models", "has the api_base 'fake:8080'"]),
    "empty model list": ({"llm_gateway_models": []}, ["llm_gateway_models: it is empty"]),
    "unknown image source": ({"llm_gateway_image_source": "foo"},
                             ['llm_gateway_image_source is "foo": choose one of upstream, offline']),
    "app key not wanted": ({"llm_gateway_app_key_alias": "litellm-app"},
                           ['llm_gateway_app_key_alias is "litellm-app", which litellm_keys_wanted does not define',
                            "litellm-dev, litellm-eval"]),
    "app key wanted absent": ({"litellm_keys_wanted": [{"alias": "litellm-dev", "state": "absent"}]},
                              ['llm_gateway_app_key_alias is "litellm-dev"', "(it defines none)"]),
    "registry without address": ({"llm_gateway_image_source": "registry"},
                                 ['llm_gateway_registry_address is ""', "give the registry's host:port"]),
    # Issue 12: upstream images pinned by digest as well as tag.
    "malformed image digest": ({"llm_gateway_image_source": "upstream", "llm_gateway_images": {"upstream": {
                                   "redis": "docker.io/library/redis:7.0.15@sha256:1234"}}},
                               ["llm_gateway_images.upstream", "redis: 'docker.io/library/redis:7.0.15@sha256:1234' has the digest"]),
    "digest required but missing": ({"llm_gateway_image_source": "upstream", "llm_gateway_require_image_digests": True,
                                     "llm_gateway_images": {"upstream": {"redis": "docker.io/library/redis:7.0.15"}}},
                                    ["redis: 'docker.io/library/redis:7.0.15' has no digest",
                                     "llm_gateway_require_image_digests is on"]),
    "litellm unpublished": ({"litellm_published_port": None},
                            ["litellm_published_port is null", "the keys step reaches LiteLLM through its published port"]),
    "entry point port taken": ({"balancer_https_port": 6006},
                               ["phoenix_published_http_port (127.0.0.1:6006) and balancer_https_port (127.0.0.1:6006)"]),
    "app public beside a public entry point": (
        {"llm_gateway_public_address": "203.0.113.10", "reasoning_api_bind_address": "0.0.0.0"},
        ["reasoning_api_published_port publishes port 8000 on '0.0.0.0' while the TLS entry point is public "
         "('203.0.113.10')", "publish it on 127.0.0.1"]),
}


@pytest.mark.parametrize("case", BAD_SETTINGS)
def test_bad_settings_stop_site_yml_before_anything_changes(case, inventory):
    variables, expected = BAD_SETTINGS[case]

    run = run_site(inventory, variables)

    assert run.returncode != 0, run.stdout
    assert failed_task(run.stdout) in PREFLIGHT_TASKS, run.stdout
    message = error_message(run.stdout)
    for text in expected:
        assert text in message, run.stdout
    assert not (inventory / "vault").exists()


def test_the_dev_settings_pass_the_preflight(inventory):
    run = run_site(inventory, {})

    # It goes on to the secrets step, which stops it here: this copy generates no secrets.
    assert run.returncode != 0
    assert failed_task(run.stdout) == "Refuse to run without the secrets this inventory must already hold", run.stdout
    for task in PREFLIGHT_TASKS:
        assert re.search(rf"^TASK \[llm_gateway.stack.llm_gateway_preflight : {re.escape(task)}\] \*+\nok: ", run.stdout, re.M), task


def two_hosts(inv, database_host):
    """The inventory's groups over two hosts: the databases on one (with the given ansible_host), the rest on another."""
    (inv / "hosts.yml").write_text(yaml.safe_dump({"llm_gateway": {
        "children": {"databases": {"hosts": {"db-1": {"ansible_host": database_host}}},
                     **{group: {"hosts": {"gw-1": {"ansible_host": "10.9.0.2"}}} for group in ("observability", "gateway", "app")}},
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}))
    return inv


@pytest.mark.parametrize(("database_host", "variables", "expected"), [
    ("10.9.0.1", {"litellm_postgres_published_port": None},
     ["gw-1 (gateway) reaches LiteLLM's PostgreSQL on db-1 (databases), but litellm_postgres_published_port is null"]),
    ("10.9.0.1", {"llm_gateway_bind_address": "127.0.0.1"},
     ["db-1 publishes its ports on llm_gateway_bind_address '127.0.0.1', a loopback address"]),
    ("db.example.internal", {},
     ["llm_gateway_private_address of db-1 is 'db.example.internal', not an IP address"]),
])
def test_a_placement_over_hosts_that_cannot_connect_is_refused(inventory, database_host, variables, expected):
    run = run_site(two_hosts(inventory, database_host), variables)

    assert run.returncode != 0, run.stdout
    assert failed_task(run.stdout) == "Check how the hosts reach each other's services", run.stdout
    message = error_message(run.stdout)
    for text in expected:
        assert text in message, run.stdout
    assert not (inventory / "vault").exists()


PROD_INVENTORY = ROOT / "inventories" / "prod"


def test_the_prod_inventory_refuses_the_demo_upstream_before_anything_changes(tmp_path):
    # The prod inventory as it is (its host is never reached: the preflight only evaluates settings).
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "llm_gateway").mkdir(parents=True)
    for name in ("hosts.yml", "group_vars/llm_gateway/main.yml"):
        (inv / name).write_bytes((PROD_INVENTORY / name).read_bytes())

    run = run_site(inv, {"llm_gateway_demo_upstream": True})

    assert run.returncode != 0, run.stdout
    assert failed_task(run.stdout) == "Check the stack's settings", run.stdout
    message = error_message(run.stdout)
    assert "llm_gateway_demo_upstream is true, but this inventory refuses the demo upstream" in message
    assert "(llm_gateway_demo_upstream_allowed: false)" in message
    assert "Set llm_gateway_demo_upstream to false and keep the real OpenAI key in the vault" in message
    assert "UNREACHABLE" not in run.stdout  # refused before any host was contacted
    assert not (inv / "vault").exists()


def test_the_stack_s_own_images_have_no_problem():
    """The pinned references of group_vars/all/stack.yml (the deploy layer, not in the collection) pass the check."""
    from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_checks as checks

    stack = yaml.safe_load((ROOT / "group_vars/all/stack.yml").read_text())
    for source in ("upstream", "offline"):
        assert checks.image_problems(stack["llm_gateway_images"][source]) == [], source


def test_one_run_names_every_bad_setting(inventory):
    run = run_site(inventory, {"llm_gateway_image_source": "foo", "reasoning_api_published_port": 6006,
                               "litellm_keys_wanted": keys(max_budget=-1)})

    assert run.returncode != 0, run.stdout
    assert failed_task(run.stdout) == "Check the stack's settings", run.stdout
    message = error_message(run.stdout)
    for text in ['llm_gateway_image_source is "foo": choose one of upstream, offline',
                 "'litellm-eval' has max_budget: -1",
                 "phoenix_published_http_port (127.0.0.1:6006) and reasoning_api_published_port (127.0.0.1:6006)"]:
        assert text in message, run.stdout
    assert not (inventory / "vault").exists()
