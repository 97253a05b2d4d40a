"""Phoenix's system key step (playbooks/phoenix_key.yml) when the vault does not keep the key it made: the key is
revoked in Phoenix (Phoenix shows a key once, so a key the vault lost could never be used) and the run fails saying
so. The vault refuses the write here because the run's view of the secrets is not what the vault holds, as when
another run wrote them meanwhile."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "phoenix_key.yml")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def system_key_ids(anonymous, urls, secrets) -> set[str]:
    listed = anonymous.get(f"{urls['phoenix']}/v1/system/api_keys",
                           headers={"Authorization": f"Bearer {secrets['phoenix_admin_secret']}"})
    assert listed.status_code == 200, listed.text
    return {key["id"] for key in listed.json()["data"]}


def test_a_new_key_the_vault_refuses_is_revoked(anonymous, urls, secrets, tmp_path):
    inventory = os.environ.get("LLM_GATEWAY_INVENTORY")
    if not inventory:
        pytest.fail("LLM_GATEWAY_INVENTORY is not set: the inventory of the deployed stack (molecule sets it)")
    vault_files = sorted(Path(os.environ.get("LLM_GATEWAY_VAULT_DIR", "inventories/dev/vault")).glob("*.vault.yml"))
    vault_before = {path: path.read_bytes() for path in vault_files}
    before = system_key_ids(anonymous, urls, secrets)

    # A run that holds no secrets yet: it makes a new key, and the vault (which holds secrets) refuses to write.
    extra = tmp_path / "extra.json"
    extra.write_text(json.dumps({"phoenix_api_key_secrets": {}}))
    run = subprocess.run(["ansible-playbook", "-i", inventory, PLAYBOOK, "-e", f"@{extra}"],
                         capture_output=True, text=True, timeout=600, check=False)
    output = ANSI.sub("", run.stdout + run.stderr)
    text = " ".join(output.split())

    assert run.returncode != 0, output[-3000:]
    assert "did not keep the Phoenix key just made" in text, output[-3000:]
    assert "is revoked in Phoenix, so none is left behind" in text, output[-3000:]
    assert system_key_ids(anonymous, urls, secrets) == before  # the key made and lost is gone
    assert {path: path.read_bytes() for path in vault_files} == vault_before
    # The stack's own key still works, and no secret reached the output.
    viewer = anonymous.get(f"{urls['phoenix']}/v1/user",
                           headers={"Authorization": f"Bearer {secrets['phoenix_api_key']}"})
    assert viewer.status_code == 200
    for secret in (secrets["phoenix_admin_secret"], secrets["phoenix_api_key"]):
        assert secret not in output
