"""rotate_keys.yml and site.yml's rotation: new secrets for the chosen keys, the old ones rejected, the vault and the
app follow. A new key's secret is in the vault before LiteLLM is asked, and LiteLLM then gets that secret."""

from __future__ import annotations

import pytest

from day2lib import CONTAINERS, SETTINGS, STACK, URLS, app_chat, chat, container_env, inspect, playbook, vault

APP_ALIAS = "litellm-dev"
OTHER_ALIAS = "litellm-eval"
NEW_ALIAS = "litellm-day2-new"
WANTED = SETTINGS.get("litellm_keys_wanted", STACK["litellm_keys_wanted"])


def keys() -> dict[str, str]:
    return vault()["litellm_keys_secrets"]


def assert_key_works(http, secret):
    response = chat(http, URLS["litellm"], secret, "key check")
    assert response.status_code == 200, response.text


def assert_key_rejected(http, secret):
    response = chat(http, URLS["litellm"], secret, "old key check")
    assert response.status_code in (400, 401, 403), response.text


def assert_only_rotated(http, before, after, rotated, kept):
    """rotated has a new secret that works and its old one is rejected; kept still has its secret."""
    assert after[rotated] != before[rotated]
    assert after[kept] == before[kept]
    assert_key_rejected(http, before[rotated])
    assert_key_works(http, after[rotated])


def litellm_keys_named(http, alias) -> list[dict]:
    master = vault()["llm_gateway_secrets_values"]["litellm_master_key"]
    response = http.get(
        f"{URLS['litellm']}/key/list",
        headers={"Authorization": f"Bearer {master}"},
        params={"key_alias": alias, "return_full_object": "true"},
    )
    assert response.status_code == 200, response.text
    return response.json()["keys"]


def test_a_new_keys_secret_is_kept_before_litellm_is_asked_and_litellm_then_gets_that_secret(http):
    wanted = [*WANTED, {"alias": NEW_ALIAS, "metadata": {"purpose": "day2"}}]
    chosen = playbook("playbooks/key_secrets.yml", extra={"litellm_keys_wanted": wanted})
    assert chosen.rc == 0, chosen
    secret = keys()[NEW_ALIAS]
    assert secret.startswith("sk-")
    assert litellm_keys_named(http, NEW_ALIAS) == [], "the secrets step asked LiteLLM"
    ensured = playbook("playbooks/keys.yml", extra={"litellm_keys_wanted": wanted})
    assert ensured.rc == 0, ensured
    assert keys()[NEW_ALIAS] == secret
    assert_key_works(http, secret)
    for run in (chosen, ensured):
        assert secret not in run.output, "the new key's secret appeared in the playbook output"
    removed = playbook("playbooks/keys.yml", extra={"litellm_keys_wanted": [*WANTED, {"alias": NEW_ALIAS, "state": "absent"}]})
    assert removed.rc == 0, removed
    assert NEW_ALIAS not in keys()
    assert litellm_keys_named(http, NEW_ALIAS) == []


def test_unknown_alias_is_refused_before_anything():
    before = keys()
    run = playbook("playbooks/rotate_keys.yml", "-e", "rotate=litellm-nope")
    assert run.rc != 0, run
    assert run.changed == 0, run
    assert "Unknown key alias(es): litellm-nope." in run.text, run
    assert f"The keys of this inventory (litellm_keys_wanted): {APP_ALIAS}, {OTHER_ALIAS}" in run.text, run
    assert keys() == before


def test_rotating_one_key_leaves_the_others_and_the_app_alone(http):
    before = keys()
    app_id = inspect(CONTAINERS["reasoning-api"])["Id"]
    run = playbook("playbooks/rotate_keys.yml", "-e", f"rotate={OTHER_ALIAS}")
    assert run.rc == 0, run
    assert_only_rotated(http, before, keys(), rotated=OTHER_ALIAS, kept=APP_ALIAS)
    assert inspect(CONTAINERS["reasoning-api"])["Id"] == app_id, "the app's key did not change: no redeploy"


def test_rotating_every_key_redeploys_the_app_with_its_new_key(http):
    before = keys()
    assert app_chat(http, "before rotation").status_code == 200
    app_id = inspect(CONTAINERS["reasoning-api"])["Id"]
    run = playbook("playbooks/rotate_keys.yml")
    assert run.rc == 0, run
    assert run.changed > 0, run
    after = keys()
    assert set(after) == set(before)
    for alias in before:
        assert after[alias] != before[alias], f"{alias} was not rotated"
        assert_key_rejected(http, before[alias])
        assert_key_works(http, after[alias])
    app = inspect(CONTAINERS["reasoning-api"])
    assert app["Id"] != app_id, "the app container was not recreated"
    assert container_env(app)["LLM_API_KEY"] == after[APP_ALIAS]
    response = app_chat(http, "after rotation")
    assert response.status_code == 200, response.text
    assert "after rotation" in response.json()["choices"][0]["message"]["content"]
    for secret in [*before.values(), *after.values()]:
        assert secret not in run.output, "a key's secret appeared in the playbook output"


def test_site_rotating_the_apps_key_starts_the_app_only_once_litellm_took_the_new_secret(http):
    before = keys()
    app_id = inspect(CONTAINERS["reasoning-api"])["Id"]
    run = playbook("site.yml", extra={"litellm_keys_rotate": [APP_ALIAS]})
    assert run.rc == 0, run
    after = keys()
    assert_only_rotated(http, before, after, rotated=APP_ALIAS, kept=OTHER_ALIAS)
    app = inspect(CONTAINERS["reasoning-api"])
    assert app["Id"] != app_id, "the app container was not recreated"
    assert container_env(app)["LLM_API_KEY"] == after[APP_ALIAS]
    # The app changes after the keys step, not in the step before it (which would hand it a key LiteLLM lacks).
    keys_step = run.output.index("litellm_keys : Ensure the LiteLLM virtual keys]")
    app_change = run.output.index(f"_container : Ensure the container {CONTAINERS['reasoning-api']}]")
    assert app_change > keys_step, "the app was recreated before LiteLLM took its new key"
    response = app_chat(http, "after site.yml's rotation")
    assert response.status_code == 200, response.text
    for secret in [before[APP_ALIAS], after[APP_ALIAS]]:
        assert secret not in run.output, "a key's secret appeared in the playbook output"


@pytest.mark.parametrize("alias", [APP_ALIAS, OTHER_ALIAS])
def test_the_rotated_keys_exist_once_under_their_alias(http, alias):
    assert len(litellm_keys_named(http, alias)) == 1
