"""Phoenix's system key revoked on a live stack: the next site.yml makes a new one, keeps it in the vault and hands it
to LiteLLM's replica through its key file; the replica restarts (same container) and its spans reach Phoenix with
the new key. The key is never in the replica's configuration."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest

from day2lib import CONTAINERS, UPGRADE_VARS, URLS, app_chat, inspect, playbook, sh, spans, vault

KEY_FILE = "/opt/llm-gateway/phoenix-key/api_key"  # where the replica's launcher reads it (litellm role)


def system_keys(http: httpx.Client, admin_secret: str) -> list[dict]:
    listed = http.get(f"{URLS['phoenix']}/v1/system/api_keys", headers={"Authorization": f"Bearer {admin_secret}"})
    listed.raise_for_status()
    return listed.json()["data"]


@pytest.fixture(scope="module")
def revoked():
    """The stack's system key revoked in Phoenix, then site.yml run: what each step saw."""
    held = vault()["llm_gateway_secrets_values"]
    replica_before = inspect(CONTAINERS["litellm"])
    with httpx.Client(timeout=30) as http:
        keys = system_keys(http, held["phoenix_admin_secret"])
        assert keys, "the stack has no Phoenix system key to revoke"
        for key in keys:
            deleted = http.delete(f"{URLS['phoenix']}/v1/system/api_keys/{key['id']}",
                                  headers={"Authorization": f"Bearer {held['phoenix_admin_secret']}"})
            assert deleted.status_code == 204, deleted.text
    run = playbook("site.yml", extra=UPGRADE_VARS)
    return {"old_key": held["phoenix_api_key"], "replica_before": replica_before, "run": run}


def test_site_replaces_the_revoked_key_in_the_vault(revoked):
    assert revoked["run"].rc == 0, revoked["run"]
    new_key = vault()["llm_gateway_secrets_values"]["phoenix_api_key"]
    assert new_key and new_key != revoked["old_key"]
    assert new_key not in revoked["run"].output and revoked["old_key"] not in revoked["run"].output


def test_the_replica_restarts_with_the_new_key_in_its_key_file(revoked):
    before, after = revoked["replica_before"], inspect(CONTAINERS["litellm"])
    assert after["Id"] == before["Id"], "the replica must be restarted, not recreated"
    assert after["State"]["StartedAt"] > before["State"]["StartedAt"], "the replica still holds the revoked key"
    assert after["State"]["Health"]["Status"] == "healthy"
    new_key = vault()["llm_gateway_secrets_values"]["phoenix_api_key"]
    held = sh("docker", "exec", CONTAINERS["litellm"], "cat", KEY_FILE).stdout
    assert held == new_key
    assert new_key not in str(after) and revoked["old_key"] not in str(after)


def test_litellm_spans_reach_phoenix_with_the_new_key(revoked):
    marker = f"revoked-{uuid.uuid4().hex}"
    with httpx.Client(timeout=60) as http:
        answer = app_chat(http, marker)
        assert answer.status_code == 200, answer.text
        deadline = time.monotonic() + 90
        while not any(span["name"] == "litellm_request" and marker in str(span.get("attributes"))
                      for span in spans(http)):
            assert time.monotonic() < deadline, "LiteLLM's span did not reach Phoenix with the new key in 90 s"
            time.sleep(2)


def test_a_second_run_changes_nothing(revoked):
    again = playbook("site.yml", extra=UPGRADE_VARS)
    assert again.rc == 0 and again.changed == 0, again
