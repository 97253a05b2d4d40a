"""Role argument specs reject a wrong type, a missing required secret or an out-of-range port before any container
changes, with a message that names the variable.

Each case applies one role (tests/unit/playbooks/apply_role.yml, on localhost) with a set of variables that is
proven good by the check-mode control cases below, changed in exactly one place. The run must fail in the role's
argument-spec or validate_config step, its error must name the variable, and no container (nor volume) of the
test's unique ``badinput-`` name may exist afterwards.
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
from ansible_output import error_message, failed_task

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOKS = pathlib.Path(__file__).resolve().parent / "playbooks"
INVENTORY = PLAYBOOKS / "inventory" / "localhost.yml"
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
ARG_SPEC_TASK = "Validating arguments against arg spec"
# Never pulled: check mode does not pull, and should validation let a bad case through, its run stops at the pull.
# "No container afterwards" is then a safety net; the failed task being a validation task is the proof.
NO_IMAGE = "badinput.invalid/never-pulled:0"
GOOD_KEY = "sk-unit-key-" + "k" * 24  # well-formed LiteLLM keys: sk-, at least 19 characters
GOOD_SALT = "sk-unit-salt-" + "s" * 24


# -- helpers --------------------------------------------------------------------------------------------------


def run_role(role, variables, tmp_path, *args):
    """ansible-playbook apply_role.yml for ``role`` with ``variables`` as JSON extra vars; output is stdout+stderr."""
    password = tmp_path / "vault-password"  # the run never touches the real dev vault password
    password.write_text(f"unit-{uuid.uuid4().hex}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VAULT_IDENTITY_LIST=f"dev@{password}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"))
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(INVENTORY), str(PLAYBOOKS / "apply_role.yml"),
           "-e", json.dumps(dict(variables, test_role=role)), *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)


def validation_tasks(role):
    """Names of the role's validate_config.yml tasks: a failure there happens before any container task."""
    path = ROOT / "roles" / role / "tasks" / "validate_config.yml"
    return [task["name"] for task in yaml.safe_load(path.read_text())] if path.exists() else []


def is_validation_task(role, task):
    return task.startswith(ARG_SPEC_TASK) or task in validation_tasks(role)


def docker_names(kind, name):
    """Names of the Docker ``kind`` objects (container, volume) whose name contains ``name``."""
    ls = ["docker", "ps", "-a", "--format", "{{.Names}}"] if kind == "container" else \
         ["docker", "volume", "ls", "--format", "{{.Name}}"]
    done = subprocess.run(ls + ["--filter", f"name={name}"], capture_output=True, text=True, timeout=60, check=True)
    return done.stdout.split()


def remove_if_present(kind, name):
    """Clean up after a failed assertion only; a passing test leaves nothing to remove."""
    if name in docker_names(kind, name):
        rm = ["docker", "rm", "-f", name] if kind == "container" else ["docker", "volume", "rm", "-f", name]
        subprocess.run(rm, capture_output=True, timeout=60)


# -- the roles' good variables ----------------------------------------------------------------------------------


@pytest.fixture
def name():
    """Unique container name of this test, removed afterwards if anything created it."""
    container = f"badinput-{uuid.uuid4().hex[:12]}"
    yield container
    remove_if_present("container", container)
    remove_if_present("volume", container + "-data")


def good_variables(role, name, tmp_path):
    """Variables each role accepts (the control cases prove it). Docker's own "bridge" network always exists:
    check mode inspects it and changes nothing; the stack's network is never named."""
    secret = f"unit-secret-{uuid.uuid4().hex}"
    return {
        "postgres": {
            "postgres_container_name": name, "postgres_volume_name": name + "-data", "postgres_image": NO_IMAGE,
            "postgres_password": secret, "postgres_network": "bridge", "postgres_published_port": 55432,
        },
        "phoenix": {
            "phoenix_container_name": name, "phoenix_image": NO_IMAGE, "phoenix_database_password": secret,
            "phoenix_network": "bridge", "phoenix_network_aliases": [],
            "phoenix_published_http_port": 56006, "phoenix_published_grpc_port": 54317,
            "phoenix_secret": "unit-phx-secret-0" + "a" * 24, "phoenix_admin_secret": "unit-phx-admin-0" + "b" * 24,
            "phoenix_admin_initial_password": secret,
        },
        "litellm": {
            "litellm_container_name": name, "litellm_image": NO_IMAGE, "litellm_master_key": GOOD_KEY,
            "litellm_salt_key": GOOD_SALT, "litellm_database_password": secret,
            "litellm_network": "bridge", "litellm_network_aliases": [], "litellm_replica_published_port": 54000,
            "litellm_config_dir": str(tmp_path / "litellm"), "litellm_ui_password": secret,
        },
        "reasoning_api": {
            "reasoning_api_container_name": name, "reasoning_api_image": NO_IMAGE, "reasoning_api_build": False,
            "reasoning_api_build_dir": str(tmp_path / "build"), "reasoning_api_llm_api_key": GOOD_KEY,
            "reasoning_api_network": "bridge", "reasoning_api_network_aliases": [],
            "reasoning_api_published_port": 58000, "reasoning_api_client_tokens": ["rapi-unit-token-0123456789"],
        },
        "llm_gateway_secrets": {
            "llm_gateway_secrets_file": str(tmp_path / "secrets.vault.yml"),
        },
        "litellm_keys": {
            # A closed port and a short wait: should validation ever let a case through, no LiteLLM is reached.
            "litellm_keys_run_on": "localhost", "litellm_keys_url": "http://127.0.0.1:9",
            "litellm_keys_master_key": GOOD_KEY, "litellm_keys_wait_timeout": 1,
            "litellm_keys_vault_file": str(tmp_path / "keys.vault.yml"),
        },
    }[role]


def secret_values(variables):
    """The secrets among ``variables`` (passwords, keys): no output may show them."""
    return [v for k, v in variables.items() if re.search(r"password|_key$", k) and isinstance(v, str) and v]


SERVICE_ROLES = ["postgres", "phoenix", "litellm", "reasoning_api"]


# -- control: the good variables pass, and check mode creates nothing ---------------------------------------------


@pytest.mark.parametrize("role", SERVICE_ROLES)
def test_good_variables_pass_validation_and_check_mode_creates_nothing(role, name, tmp_path):
    (tmp_path / "litellm").mkdir()
    variables = good_variables(role, name, tmp_path)

    run = run_role(role, variables, tmp_path, "--check")

    assert run.returncode == 0, run.stdout
    assert re.search(r"^localhost +: ok=\d+ +changed=[1-9]\d* +unreachable=0 +failed=0 ", run.stdout, re.M), run.stdout
    # Validation passed and the role went on to its container task (which check mode only reports).
    assert re.search(rf"^TASK \[llm_gateway.stack.{role} : {ARG_SPEC_TASK}.*\*+\nok: ", run.stdout, re.M), run.stdout
    for task in validation_tasks(role):
        assert re.search(rf"^TASK \[llm_gateway.stack.{role} : {re.escape(task)}\] \*+\nok: ", run.stdout, re.M), task
    assert re.search(rf"^TASK \[llm_gateway.stack._container : Ensure the container {name}\] \*+\nchanged: ", run.stdout, re.M)
    assert docker_names("container", name) == []
    assert docker_names("volume", name) == []
    assert list((tmp_path / "litellm").iterdir()) == []  # litellm_config.yaml not written
    assert not any(s in run.stdout for s in secret_values(variables))


def test_good_secrets_variables_pass_validation_and_check_mode_writes_nothing(name, tmp_path):
    variables = good_variables("llm_gateway_secrets", name, tmp_path)

    run = run_role("llm_gateway_secrets", variables, tmp_path, "--check")

    assert run.returncode == 0, run.stdout
    assert re.search(r"^TASK \[llm_gateway.stack.llm_gateway_secrets : Keep the secrets in the inventory's vault\] \*+\nchanged: ",
                     run.stdout, re.M), run.stdout
    assert not (tmp_path / "secrets.vault.yml").exists()


# -- bad input: (role, variable, value); value MISSING drops the variable from the good set ----------------------

MISSING = object()

BAD_INPUT = [
    # postgres
    ("postgres", "postgres_published_port", "abc"),
    ("postgres", "postgres_published_port", 70000),
    ("postgres", "postgres_published_port", 0),
    ("postgres", "postgres_password", ""),
    ("postgres", "postgres_password", MISSING),
    ("postgres", "postgres_restart_policy", "sometimes"),
    ("postgres", "postgres_labels", "team=x,y"),
    # phoenix
    ("phoenix", "phoenix_published_http_port", "abc"),
    ("phoenix", "phoenix_published_http_port", 70000),
    ("phoenix", "phoenix_published_grpc_port", 0),
    ("phoenix", "phoenix_http_port", 0),
    ("phoenix", "phoenix_grpc_port", 70000),
    ("phoenix", "phoenix_database_password", ""),
    ("phoenix", "phoenix_database_password", MISSING),
    ("phoenix", "phoenix_extra_env", "PHOENIX_ENABLE_AUTH"),
    ("phoenix", "phoenix_secret", "short0secret"),
    ("phoenix", "phoenix_secret", "NO-DIGIT-OR-LOWERCASE-" + "X" * 20),
    ("phoenix", "phoenix_admin_secret", "unit-phx-secret-0" + "a" * 24),
    ("phoenix", "phoenix_admin_initial_password", ""),
    ("phoenix", "phoenix_trace_retention_days", -1),
    ("phoenix", "phoenix_trace_retention_projects", {"evals": -1}),
    ("phoenix", "phoenix_trace_retention_projects", {"evals/2025": 30}),
    ("phoenix", "phoenix_trace_retention_projects", ["evals"]),
    ("litellm", "litellm_ui_password", ""),
    ("litellm", "litellm_spend_logs_cleanup_interval", "daily"),
    ("reasoning_api", "reasoning_api_client_tokens", []),
    ("reasoning_api", "reasoning_api_client_tokens", ["short"]),
    ("reasoning_api", "reasoning_api_max_request_bytes", 100),
    # litellm
    ("litellm", "litellm_models", "gpt"),
    ("litellm", "litellm_models", [{"name": "gpt-4o"}]),
    ("litellm", "litellm_models", []),
    ("litellm", "litellm_models", [{"name": "a", "model": "openai/a"}, {"name": "a", "model": "openai/b"}]),
    ("litellm", "litellm_master_key", "pk-" + "m" * 30),
    ("litellm", "litellm_master_key", ""),
    ("litellm", "litellm_master_key", MISSING),
    ("litellm", "litellm_salt_key", ""),
    ("litellm", "litellm_salt_key", MISSING),
    ("litellm", "litellm_database_password", ""),
    ("litellm", "litellm_replica_published_port", "abc"),
    ("litellm", "litellm_replica_published_port", 70000),
    ("litellm", "litellm_replica_published_port", 0),
    ("litellm", "litellm_port", 70000),
    ("litellm", "litellm_wait_timeout", "soon"),
    # reasoning_api
    ("reasoning_api", "reasoning_api_llm_api_key", ""),
    ("reasoning_api", "reasoning_api_llm_api_key", MISSING),
    ("reasoning_api", "reasoning_api_llm_api_key", "not-a-virtual-key-0123456789"),
    ("reasoning_api", "reasoning_api_published_port", "abc"),
    ("reasoning_api", "reasoning_api_published_port", 70000),
    ("reasoning_api", "reasoning_api_published_port", 0),
    ("reasoning_api", "reasoning_api_build", "maybe"),
    ("reasoning_api", "reasoning_api_extra_env", {"OPENAI_API_KEY": "sk-" + "o" * 30}),
    # llm_gateway_secrets
    ("llm_gateway_secrets", "llm_gateway_secrets_generate", "maybe"),
    ("llm_gateway_secrets", "llm_gateway_secrets_specs", "litellm_master_key"),
    ("llm_gateway_secrets", "llm_gateway_secrets_values", "sk-" + "v" * 30),
    # litellm_keys
    ("litellm_keys", "litellm_keys_wanted", "litellm-dev"),
    ("litellm_keys", "litellm_keys_wanted", [{"models": ["gpt-4o"]}]),
    ("litellm_keys", "litellm_keys_wanted", [{"alias": "a", "state": "gone"}]),
    ("litellm_keys", "litellm_keys_wanted", [{"alias": "a", "rpm_limit": "fast"}]),
    ("litellm_keys", "litellm_keys_replace_unknown", "maybe"),
    ("litellm_keys", "litellm_keys_wait_timeout", "soon"),
]


def case_id(case):
    role, variable, value = case
    return f"{variable}={'missing' if value is MISSING else json.dumps(value)[:24]}"


@pytest.mark.parametrize("role, variable, value", BAD_INPUT, ids=[case_id(c) for c in BAD_INPUT])
def test_bad_input_fails_in_validation_naming_the_variable(role, variable, value, name, tmp_path):
    variables = good_variables(role, name, tmp_path)
    if value is MISSING:
        del variables[variable]
    else:
        variables[variable] = value

    run = run_role(role, variables, tmp_path)

    assert run.returncode != 0, run.stdout
    assert variable in error_message(run.stdout), run.stdout
    assert is_validation_task(role, failed_task(run.stdout)), run.stdout
    assert docker_names("container", name) == []
    assert docker_names("volume", name) == []
    # Nothing written either: no vault file (keys/secrets roles), no LiteLLM config dir, no build context.
    assert {p.name for p in tmp_path.iterdir()} <= {"vault-password", "ansible-local"}
    leaked = [s for s in secret_values(variables) if s in run.stdout]
    assert not leaked, run.stdout


@pytest.mark.parametrize("role, bad, messages", [
    ("litellm", {"litellm_port": 70000, "litellm_spend_logs_cleanup_interval": "daily"},
     ["litellm_port must be a port from 1 to 65535, got 70000.", "litellm_spend_logs_cleanup_interval a count and a unit"]),
    ("phoenix", {"phoenix_published_grpc_port": 0, "phoenix_trace_retention_days": -1},
     ["phoenix_published_grpc_port must be a port from 1 to 65535 or null, got 0.",
      "phoenix_trace_retention_days must be a whole number of days"]),
], ids=["litellm", "phoenix"])
def test_one_run_names_every_bad_setting_of_a_role(role, bad, messages, name, tmp_path):
    run = run_role(role, dict(good_variables(role, name, tmp_path), **bad), tmp_path)

    assert run.returncode != 0, run.stdout
    assert is_validation_task(role, failed_task(run.stdout)), run.stdout
    for message in messages:
        assert message in error_message(run.stdout), run.stdout
    assert docker_names("container", name) == []
