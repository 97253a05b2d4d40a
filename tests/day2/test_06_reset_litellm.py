"""reset_litellm.yml: refused unless it names the inventory; with it, a new LiteLLM database, the same keys."""

from __future__ import annotations

import pytest

from day2lib import CONTAINERS, INVENTORY, SETTINGS, UPGRADE_VARS, URLS, app_chat, chat, inspect, playbook, snapshot, vault, vault_bytes, volume

VOLUME = SETTINGS["litellm_postgres_volume_name"]
# The confirmation is the inventory's name (its folder), as for purge.yml.
INVENTORY_NAME = INVENTORY.parent.name


# "litellm": the fixed word earlier releases asked for; "prod": another inventory's name.
@pytest.mark.parametrize("confirmation", [None, "yes", "litellm", "prod"])
def test_reset_is_refused_unless_it_names_the_inventory(confirmation):
    before, created = snapshot(), volume(VOLUME)["CreatedAt"]
    args = [] if confirmation is None else ["-e", f"confirm_reset={confirmation}"]
    run = playbook("playbooks/reset_litellm.yml", *args, extra=UPGRADE_VARS)
    assert run.rc != 0, run
    assert run.recap["ok"] == 0 and run.changed == 0, run
    assert "Refused: reset_litellm.yml DELETES" in run.text
    assert f"run it again with -e confirm_reset={INVENTORY_NAME}" in run.text
    assert snapshot() == before
    assert volume(VOLUME)["CreatedAt"] == created


@pytest.fixture(scope="module")
def reset():
    state = {"snapshot": snapshot(), "volume": volume(VOLUME), "vault": vault_bytes(), "keys": vault()["litellm_keys_secrets"]}
    state["run"] = playbook("playbooks/reset_litellm.yml", "-e", f"confirm_reset={INVENTORY_NAME}", extra=UPGRADE_VARS)
    return state


def test_the_reset_succeeds(reset):
    assert reset["run"].rc == 0, reset["run"]


def test_litellm_has_a_new_database_volume_and_container(reset):
    assert volume(VOLUME)["CreatedAt"] != reset["volume"]["CreatedAt"]
    after = snapshot()
    for service in ("litellm", "postgres-litellm"):
        assert after[service][0] != reset["snapshot"][service][0], f"{service} was not recreated"
    for service in ("phoenix", "postgres-phoenix", "reasoning-api"):
        assert after[service] == reset["snapshot"][service], f"{service} was touched by the reset"
    assert inspect(CONTAINERS["litellm"])["Config"]["Image"] == UPGRADE_VARS["litellm_image"]


def test_the_keys_exist_again_with_the_same_secrets(reset, http):
    assert vault()["litellm_keys_secrets"] == reset["keys"]
    assert vault_bytes() == reset["vault"], "the vault files were rewritten without a change"
    for alias, secret in reset["keys"].items():
        response = chat(http, URLS["litellm"], secret, f"after reset, {alias}")
        assert response.status_code == 200, response.text


def test_the_app_still_works_without_a_redeploy(reset, http):
    response = app_chat(http, "through the app after the reset")
    assert response.status_code == 200, response.text
    assert "after the reset" in response.json()["choices"][0]["message"]["content"]
