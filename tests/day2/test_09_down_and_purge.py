"""Teardown: down.yml removes the containers and the record of the complete deploy, and keeps the data; site.yml
brings the same stack back (a Phoenix key file left on the host does not start the new replica: it gets the vault's
key); purge.yml is refused unless it names the inventory, then deletes the volumes and the network too. Runs last:
it ends the stack."""

from __future__ import annotations

import time
from pathlib import Path

from day2lib import CONTAINERS, INVENTORY, SETTINGS, UPGRADE_VARS, URLS, app_chat, chat, inspect, playbook, sh, spans, vault_bytes, vault, volume

VOLUMES = [SETTINGS["phoenix_postgres_volume_name"], SETTINGS["litellm_postgres_volume_name"]]
INVENTORY_NAME = INVENTORY.parent.name
# Where the replica's launcher finds Phoenix's key, on the host (litellm role).
KEY_FILE = Path(SETTINGS["litellm_config_dir"]) / "phoenix-key" / "api_key"
# The record of the last complete deploy (playbooks/record.yml), named after the stack's label.
RECORD = Path("/var/lib/llm-gateway") / f"{next(iter(SETTINGS['llm_gateway_labels'].values()))}.json"


def network_exists() -> bool:
    return sh("docker", "network", "inspect", SETTINGS["llm_gateway_network"], check=False).returncode == 0


def marked_spans(http, marker: str) -> list[dict]:
    return [s for s in spans(http) if marker in str(s.get("attributes", {}))]


def test_down_keeps_the_data_and_site_brings_the_same_stack_back(http):
    # Marked in the request's metadata, which its span keeps whether or not prompts are logged.
    marker = f"day2-before-down-{time.time_ns()}"
    app_key = vault()["litellm_keys_secrets"]["litellm-dev"]
    assert chat(http, URLS["litellm"], app_key, "before down", metadata={"day2_marker": marker}).status_code == 200
    deadline = time.monotonic() + 60
    while not marked_spans(http, marker):
        assert time.monotonic() < deadline, "the request's span never reached Phoenix"
        time.sleep(2)
    keys_before, vault_before = vault()["litellm_keys_secrets"], vault_bytes()

    assert RECORD.exists(), "site.yml recorded no complete deploy"
    dry = playbook("playbooks/down.yml", check=True)
    assert dry.rc == 0, dry
    assert all(inspect(name) for name in CONTAINERS.values()), "the dry run removed a container"
    assert RECORD.exists(), "the dry run removed the record"

    down = playbook("playbooks/down.yml")
    assert down.rc == 0, down
    assert [name for name in CONTAINERS.values() if inspect(name)] == []
    assert not RECORD.exists(), "down.yml kept the record of a deploy it took down"
    assert all(volume(name) for name in VOLUMES) and network_exists()
    assert playbook("playbooks/down.yml").changed == 0
    # A stale key (say, one revoked meanwhile) in the file down.yml left: the new replica must not start with it.
    KEY_FILE.chmod(0o600)
    KEY_FILE.write_text("phx-stale-key-left-on-the-host")

    up = playbook("site.yml", extra=UPGRADE_VARS)
    assert up.rc == 0, up
    assert vault_bytes() == vault_before, "the vault changed: keys or secrets were made anew"
    for alias, secret in keys_before.items():
        response = chat(http, URLS["litellm"], secret, f"{alias} after down")
        assert response.status_code == 200, response.text
    assert marked_spans(http, marker), "Phoenix lost the traces from before down.yml"
    assert KEY_FILE.read_text() == vault()["llm_gateway_secrets_values"]["phoenix_api_key"]
    # Started once, with the vault's key: a replica started with the stale one is restarted when the key is handed over.
    launches = sh("docker", "logs", CONTAINERS["litellm"])
    assert (launches.stdout + launches.stderr).count("[llm-gateway launch] LiteLLM imported in") == 1
    after_up = f"day2-after-up-{time.time_ns()}"
    assert chat(http, URLS["litellm"], app_key, "after up", metadata={"day2_marker": after_up}).status_code == 200
    deadline = time.monotonic() + 60
    while not marked_spans(http, after_up):
        assert time.monotonic() < deadline, "LiteLLM's span after up never reached Phoenix: the replica kept a stale key"
        time.sleep(2)
    assert app_chat(http, "after down and up").status_code == 200
    again = playbook("site.yml", extra=UPGRADE_VARS)
    assert (again.rc, again.changed) == (0, 0), again


def test_purge_is_refused_without_the_inventorys_name():
    for confirm in ([], ["-e", "confirm_purge=prod"]):
        run = playbook("playbooks/purge.yml", *confirm)
        assert run.rc != 0, run
        assert run.changed == 0, run
        assert f"of the inventory '{INVENTORY_NAME}'. Nothing was changed." in run.text, run
        assert f"-e confirm_purge={INVENTORY_NAME}" in run.text, run
    assert all(inspect(name) for name in CONTAINERS.values())
    assert all(volume(name) for name in VOLUMES)


def test_purge_named_deletes_containers_volumes_and_network_and_keeps_the_vault():
    vault_before = vault_bytes()

    run = playbook("playbooks/purge.yml", "-e", f"confirm_purge={INVENTORY_NAME}")

    assert run.rc == 0, run
    assert [name for name in CONTAINERS.values() if inspect(name)] == []
    assert [name for name in VOLUMES if volume(name)] == []
    assert not network_exists()
    assert vault_bytes() == vault_before
