"""After every day-2 operation, the deployment is still exactly what site.yml makes: a run changes nothing, and it
closes with a summary a person can act on (services, health, URLs, key aliases, where the master key is) that shows
no secret."""

from __future__ import annotations

import pytest

from day2lib import CONTAINERS, INVENTORY, REPO, SETTINGS, UPGRADE_VARS, playbook, vault


@pytest.fixture(scope="module")
def site_again():
    return playbook("site.yml", extra=UPGRADE_VARS)


def test_site_after_the_day2_operations_changes_nothing(site_again):
    assert site_again.rc == 0, site_again
    assert site_again.changed == 0, site_again
    assert "FAILED" not in site_again.output, site_again


def test_the_summary_lists_every_service_healthy_with_its_url(site_again):
    summary = site_again.output.split("The stack is deployed.", 1)[-1]
    assert summary != site_again.output, f"no summary:\n{site_again.tail()}"
    rows = {line.split()[0]: line.split() for line in summary.splitlines() if line.split()[:1] and line.split()[0] in CONTAINERS}
    assert sorted(rows) == sorted(CONTAINERS), summary
    for service, row in rows.items():
        assert row[1:4] == [CONTAINERS[service], "running", "healthy"], row
    assert f"http://127.0.0.1:{SETTINGS['phoenix_published_http_port']}" in rows["phoenix"]
    # LiteLLM is reached through its balancer; its replica is not published.
    assert f"http://127.0.0.1:{SETTINGS['litellm_published_port']}" in rows["litellm-balancer"]
    assert f"behind {SETTINGS['balancer_container_name']}" in " ".join(rows["litellm"])
    assert f"http://127.0.0.1:{SETTINGS['reasoning_api_published_port']}/v1/chat/completions" in rows["reasoning-api"]
    assert f"postgresql://127.0.0.1:{SETTINGS['phoenix_postgres_published_port']}/phoenix" in rows["postgres-phoenix"]


def test_the_summary_names_keys_by_alias_the_master_keys_place_and_what_next_and_no_secret(site_again):
    summary = " ".join(site_again.output.split("The stack is deployed.", 1)[-1].split())
    held = vault()
    aliases = sorted(held["litellm_keys_secrets"])
    assert f"Virtual keys ensured: {aliases[0]} (the app's), {aliases[1]}" in summary, summary
    vault_file = INVENTORY.parent.resolve() / "vault/secrets.vault.yml"
    shown = vault_file.relative_to(REPO) if vault_file.is_relative_to(REPO) else vault_file  # as run from the repository
    assert f"ansible-vault view --vault-id test@prompt {shown}" in summary, summary
    assert "make status" in summary and "make logs SERVICE=litellm [FOLLOW=1]" in summary
    # The fake upstream stands in through litellm_openai_api_base: a configured upstream, no missing-key warning.
    assert "Upstream: the api_base set for the models" in summary and "WARNING" not in summary
    secrets = [*held["llm_gateway_secrets_values"].values(), *held["litellm_keys_secrets"].values()]
    assert secrets and not [s[:6] for s in secrets if s in site_again.output], "a secret in site.yml's output"
