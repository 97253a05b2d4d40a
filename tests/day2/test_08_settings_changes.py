"""Settings changed on the live stack, the way an operator does it: edit the inventory, dry-run with
`site.yml --check --diff`, run `site.yml`, run it again.

Each step adds to the inventory's group_vars/llm_gateway/ a file of changed settings (the earlier steps' changes
stay), then checks that the dry run shows the change and touches nothing, that the real run restarts exactly the
services whose configuration or environment changed and finishes the play, that a request proves the new state,
and that the next run changes nothing. No output may show a secret.
"""

from __future__ import annotations

import time

import pytest
import yaml

from day2lib import (CONTAINERS, INVENTORY, UPGRADE_VARS, URLS, Run, ansible_env, app_chat, chat, inspect, playbook, sh,
                     snapshot, spans, vault, wait_healthy)

CHANGES_FILE = INVENTORY.parent / "group_vars" / "llm_gateway" / "operator_changes.yml"
BASE_MODELS = [{"name": "gpt-4o", "model": "openai/gpt-4o"}, {"name": "gpt-4o-mini", "model": "openai/gpt-4o-mini"},
               {"name": "o1-mini", "model": "openai/o1-mini"}]
APP_ALIAS, OTHER_ALIAS = "litellm-dev", "litellm-eval"
changes: dict = {}


@pytest.fixture(scope="module", autouse=True)
def operator_changes_file():
    yield
    CHANGES_FILE.unlink(missing_ok=True)


def secrets() -> list[str]:
    held = vault()
    return [*held["llm_gateway_secrets_values"].values(), *held["litellm_keys_secrets"].values()]


def assert_no_secret_in(run: Run) -> None:
    shown = [s[:6] + "..." for s in secrets() if s in run.output]
    assert not shown, f"secrets {shown} in the output of {run.args}"


def key(alias: str) -> str:
    return vault()["litellm_keys_secrets"][alias]


def change(settings: dict, shown_by_diff: list[str]) -> dict[str, set[str]]:
    """Apply one more change to the inventory and walk it: dry run, run, run again. Returns the services the run
    restarted and those it recreated."""
    changes.update(settings)
    CHANGES_FILE.write_text("---\n# Written by tests/day2/test_08_settings_changes.py\n" + yaml.safe_dump(changes))
    before = snapshot()

    dry = playbook("site.yml", "--diff", extra=UPGRADE_VARS, check=True)
    assert dry.rc == 0, dry
    assert dry.changed > 0, dry
    for text in shown_by_diff:
        assert text in dry.output, f"--check --diff does not show {text!r}:\n{dry.tail()}"
    assert_no_secret_in(dry)
    assert snapshot() == before, "the dry run touched a container"

    run = playbook("site.yml", extra=UPGRADE_VARS)
    assert run.rc == 0, run
    assert "[WARNING]" not in run.output, run
    # The closing summary is site.yml's last play: the run went on after the changed service.
    assert "The stack is deployed." in run.output, "the run did not reach its summary"
    # Waits for the restarted service read as waits, not as failures.
    assert "FAILED" not in run.output, run
    assert_no_secret_in(run)
    after = snapshot()

    again = playbook("site.yml", extra=UPGRADE_VARS)
    assert again.rc == 0, again
    assert again.changed == 0, again
    assert snapshot() == after
    return {
        "restarted": {s for s in before if before[s][1] != after[s][1]},
        "recreated": {s for s in before if before[s][0] != after[s][0]},
    }


def test_adding_a_model_and_removing_one(http):
    models = [m for m in BASE_MODELS if m["name"] != "o1-mini"] + [{"name": "gpt-4.1-nano", "model": "openai/gpt-4.1-nano"}]

    touched = change({"llm_gateway_models": models}, ['+  - model_name: "gpt-4.1-nano"', '-  - model_name: "o1-mini"'])

    # A new configuration file recreates LiteLLM (its checksum is a label of the container).
    assert touched == {"restarted": {"litellm"}, "recreated": {"litellm"}}, "only LiteLLM reads the model list"
    added = chat(http, URLS["litellm"], key(APP_ALIAS), "new model", model="gpt-4.1-nano")
    assert added.status_code == 200, added.text
    removed = chat(http, URLS["litellm"], key(APP_ALIAS), "removed model", model="o1-mini")
    assert removed.status_code in (400, 401, 403, 404), removed.text


def test_switching_off_message_logging(http):
    touched = change({"litellm_log_message_content": False}, ["+  turn_off_message_logging: true"])

    assert touched == {"restarted": {"litellm"}, "recreated": {"litellm"}}
    marker = f"day2-unlogged-{time.time_ns()}"
    response = chat(http, URLS["litellm"], key(APP_ALIAS), marker, metadata={"day2_step": marker[-12:]})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 60
    while not (traced := [s for s in spans(http) if marker[-12:] in str(s.get("attributes", {}))]):
        assert time.monotonic() < deadline, "the request's span never reached Phoenix"
        time.sleep(2)
    assert not [s for s in traced if marker in str(s)], "the prompt is still stored in Phoenix"


def test_changing_a_phoenix_environment_variable(http):
    touched = change({"phoenix_extra_env": {"PHOENIX_ENABLE_PROMETHEUS": "true"}}, ["+PHOENIX_ENABLE_PROMETHEUS=true"])

    assert touched == {"restarted": {"phoenix"}, "recreated": {"phoenix"}}
    env = dict(item.split("=", 1) for item in inspect(CONTAINERS["phoenix"])["Config"]["Env"])
    assert env["PHOENIX_ENABLE_PROMETHEUS"] == "true"
    metrics = sh("docker", "exec", CONTAINERS["phoenix"], "python", "-c",
                 "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:9090/metrics', timeout=10).read()[:4000].decode())")
    assert "# HELP" in metrics.stdout, metrics.stdout
    assert http.get(f"{URLS['phoenix']}/healthz").status_code == 200


def test_changing_the_apps_routing_default(http):
    touched = change({"reasoning_api_default_routing_mode": "reasoning"}, ["+DEFAULT_ROUTING_MODE=reasoning"])

    assert touched == {"restarted": {"reasoning-api"}, "recreated": {"reasoning-api"}}
    response = app_chat(http, "which path now?")
    assert response.status_code == 200, response.text
    assert response.headers["X-Routing-Path"] == "reasoning"


def test_changing_a_keys_models_and_budget(http):
    wanted = [{"alias": APP_ALIAS, "metadata": {"environment": "development"}},
              {"alias": OTHER_ALIAS, "metadata": {"environment": "evaluation"}, "models": ["gpt-4o-mini"],
               "max_budget": 5.0, "budget_duration": "30d"}]
    other_before = key(OTHER_ALIAS)

    touched = change({"litellm_keys_wanted": wanted}, [OTHER_ALIAS, "max_budget"])

    assert touched == {"restarted": set(), "recreated": set()}, "a key's settings need no restart"
    assert key(OTHER_ALIAS) == other_before, "the key kept its secret"
    master = vault()["llm_gateway_secrets_values"]["litellm_master_key"]
    info = http.get(f"{URLS['litellm']}/key/info", params={"key": other_before},
                    headers={"Authorization": f"Bearer {master}"}).json()["info"]
    assert info["models"] == ["gpt-4o-mini"] and info["max_budget"] == 5.0 and info["budget_duration"] == "30d", info
    assert chat(http, URLS["litellm"], other_before, "allowed", model="gpt-4o-mini").status_code == 200
    refused = chat(http, URLS["litellm"], other_before, "not allowed", model="gpt-4o")
    assert refused.status_code in (401, 403), refused.text


def test_changing_a_database_password_in_the_vault(http):
    # The operator edits the vault (ansible-vault edit); here the test re-encrypts it with the new password.
    secrets_file = INVENTORY.parent / "vault" / "secrets.vault.yml"
    held = yaml.safe_load(sh("ansible-vault", "view", str(secrets_file), env=ansible_env()).stdout)
    old_password = held["llm_gateway_secrets_values"]["litellm_postgres_password"]
    new_password = "day2" + old_password[::-1][4:]
    held["llm_gateway_secrets_values"]["litellm_postgres_password"] = new_password
    sh("ansible-vault", "encrypt", "--encrypt-vault-id", "test", "--output", str(secrets_file), "-",
       input=yaml.safe_dump(held), env=ansible_env())

    touched = change({}, [])

    assert touched == {"restarted": {"postgres-litellm", "litellm"}, "recreated": {"postgres-litellm", "litellm"}}
    login = "psql -X -At -c 'select 1' postgresql://litellm_user:{}@127.0.0.1:5432/litellm"
    assert sh("docker", "exec", CONTAINERS["postgres-litellm"], "sh", "-c", login.format(new_password)).stdout.strip() == "1"
    assert sh("docker", "exec", CONTAINERS["postgres-litellm"], "sh", "-c", login.format(old_password), check=False).returncode != 0
    assert http.get(f"{URLS['litellm']}/health/readiness").json()["db"] == "connected"
    assert chat(http, URLS["litellm"], key(APP_ALIAS), "after the password change").status_code == 200


def test_the_changed_settings_leave_every_service_healthy():
    # site.yml ends once each service answers its own health check; Docker's status follows at its next check.
    for name in CONTAINERS.values():
        assert wait_healthy(name, 60)["State"]["Health"]["Status"] == "healthy", name
