"""rotate_keys.yml: new secrets for the chosen keys, the old ones rejected, the vault and the app follow."""

from __future__ import annotations

import pytest

from day2lib import CONTAINERS, URLS, app_chat, chat, container_env, inspect, playbook, vault

APP_ALIAS = "litellm-dev"
OTHER_ALIAS = "litellm-eval"


def keys() -> dict[str, str]:
    return vault()["litellm_keys_secrets"]


def assert_key_works(http, secret):
    response = chat(http, URLS["litellm"], secret, "key check")
    assert response.status_code == 200, response.text


def assert_key_rejected(http, secret):
    response = chat(http, URLS["litellm"], secret, "old key check")
    assert response.status_code in (400, 401, 403), response.text


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
    after = keys()
    assert after[OTHER_ALIAS] != before[OTHER_ALIAS]
    assert after[APP_ALIAS] == before[APP_ALIAS]
    assert_key_rejected(http, before[OTHER_ALIAS])
    assert_key_works(http, after[OTHER_ALIAS])
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


@pytest.mark.parametrize("alias", [APP_ALIAS, OTHER_ALIAS])
def test_the_rotated_keys_exist_once_under_their_alias(http, alias):
    master = vault()["llm_gateway_secrets_values"]["litellm_master_key"]
    response = http.get(
        f"{URLS['litellm']}/key/list",
        headers={"Authorization": f"Bearer {master}"},
        params={"key_alias": alias, "return_full_object": "true"},
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["keys"]) == 1
