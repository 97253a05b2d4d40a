"""Virtual keys: the default keys live in LiteLLM with their alias and metadata, the app's key works and is held to
its models, and the inventory's vault keeps every secret encrypted.

Keys are found by their token hash (LiteLLM stores only sha256 of the secret), never by sending the secret in a URL.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from conftest import INVENTORY_KEYS, container_env, key_info, litellm_chat, sha256_hex

DEFAULT_KEYS = INVENTORY_KEYS
# The limits LiteLLM must hold for a key, alias → {field: value} (JSON; none in the dev inventory).
KEY_LIMITS = json.loads(os.environ.get("LLM_GATEWAY_KEY_LIMITS", "{}"))
APP_KEY_ALIAS = os.environ.get("LLM_GATEWAY_APP_KEY_ALIAS", "litellm-dev")
VAULT_DIR = Path(os.environ.get("LLM_GATEWAY_VAULT_DIR", "inventories/dev/vault"))
VAULT_FILES = {
    "secrets.vault.yml": "llm_gateway_secrets_values",
    "litellm_keys.vault.yml": "litellm_keys_secrets",
}


@pytest.fixture(scope="module")
def master_headers(secrets) -> dict:
    return {"Authorization": f"Bearer {secrets['litellm_master_key']}"}


@pytest.fixture(scope="module")
def proxy_models(http, urls, master_headers) -> set[str]:
    response = http.get(f"{urls['litellm']}/v1/models", headers=master_headers)
    assert response.status_code == 200, response.text
    return {model["id"] for model in response.json()["data"]}


@pytest.fixture
def restricted_key(http, urls, master_headers, proxy_models):
    """A short-lived key limited to one model of the proxy (deleted afterwards; it expires in an hour anyway)."""
    alias = f"e2e-restricted-{uuid.uuid4().hex[:12]}"
    allowed = sorted(proxy_models)[0]
    response = http.post(
        f"{urls['litellm']}/key/generate",
        headers=master_headers,
        json={"key_alias": alias, "models": [allowed], "duration": "1h", "metadata": {"purpose": "e2e test"}},
    )
    assert response.status_code == 200, response.text
    try:
        yield response.json()["key"], allowed
    finally:
        deleted = http.post(f"{urls['litellm']}/key/delete", headers=master_headers, json={"key_aliases": [alias]})
        assert deleted.status_code == 200, deleted.text


# --------------------------------------------------------------------------------------------------- keys in LiteLLM


@pytest.mark.parametrize("alias", sorted(DEFAULT_KEYS))
def test_default_key_exists_with_its_alias_and_metadata(http, urls, master_headers, vault_vars, alias):
    secret = vault_vars["litellm_keys_secrets"][alias]
    assert secret.startswith("sk-")
    response = http.get(f"{urls['litellm']}/key/info", params={"key": sha256_hex(secret)}, headers=master_headers)
    assert response.status_code == 200, response.text
    assert response.json()["key"] == sha256_hex(secret)
    info = response.json()["info"]
    assert info["key_alias"] == alias
    assert info["status"] == "active"
    assert not info["blocked"]
    assert info["expires"] is None
    for name, value in DEFAULT_KEYS[alias].items():
        assert info["metadata"][name] == value
    for name, value in KEY_LIMITS.get(alias, {}).items():
        assert info[name] == value, f"{alias}: {name} is {info[name]!r}, the inventory says {value!r}"


@pytest.mark.parametrize("alias", sorted(DEFAULT_KEYS))
def test_default_alias_names_exactly_the_vaults_key(http, urls, master_headers, vault_vars, alias):
    response = http.get(f"{urls['litellm']}/key/list", params={"key_alias": alias, "size": 100}, headers=master_headers)
    assert response.status_code == 200, response.text
    assert response.json()["keys"] == [sha256_hex(vault_vars["litellm_keys_secrets"][alias])]


def test_app_container_key_is_the_vaults_key(inspect, vault_vars):
    assert container_env(inspect("app"))["LLM_API_KEY"] == vault_vars["litellm_keys_secrets"][APP_KEY_ALIAS]


# --------------------------------------------------------------------------------------------------- the app's key


def test_app_key_completes_a_chat(http, urls, inspect, proxy_models):
    app_key = container_env(inspect("app"))["LLM_API_KEY"]
    marker = f"e2e-key-{uuid.uuid4().hex}"
    response = litellm_chat(http, urls, app_key, marker)
    assert response.status_code == 200, response.text
    assert marker in response.json()["choices"][0]["message"]["content"]


def test_app_key_reaches_exactly_the_proxys_models(http, urls, inspect, master_headers, proxy_models):
    """The key lists exactly the proxy's models (the keys' default), and sees those."""
    app_key = container_env(inspect("app"))["LLM_API_KEY"]
    assert {"gpt-4o", "gpt-4o-mini", "o1-mini"} <= proxy_models
    listed = key_info(http, urls, master_headers, app_key)["models"]
    assert set(listed) == proxy_models, f"the app's key lists {listed}"
    response = http.get(f"{urls['litellm']}/v1/models", headers={"Authorization": f"Bearer {app_key}"})
    assert response.status_code == 200, response.text
    assert {model["id"] for model in response.json()["data"]} == proxy_models


def test_app_key_is_refused_a_model_outside_its_list(http, urls, inspect, master_headers, fake_openai_url):
    """LiteLLM refuses before any upstream call: 403 key_model_access_denied (the key lists the proxy's models)."""
    app_key = container_env(inspect("app"))["LLM_API_KEY"]
    model = f"not-deployed-{uuid.uuid4().hex[:8]}"
    response = litellm_chat(http, urls, app_key, "hello", model=model)
    error = response.json()["error"]
    assert (response.status_code, error["type"], error["param"]) == (403, "key_model_access_denied", "model")
    assert model in error["message"]
    recorded = http.get(f"{fake_openai_url}/_fake/requests").json()["requests"]
    assert not [r for r in recorded if (r.get("body") or {}).get("model") == model]


def test_a_key_limited_to_one_model_gets_403_for_another(http, urls, restricted_key, proxy_models):
    """LiteLLM enforces a key's model list: 200 for its model, 403 key_model_access_denied for any other."""
    key, allowed = restricted_key
    ok = litellm_chat(http, urls, key, "allowed model", model=allowed)
    assert ok.status_code == 200, ok.text
    for other in sorted(proxy_models - {allowed}) + [f"not-deployed-{uuid.uuid4().hex[:8]}"]:
        refused = litellm_chat(http, urls, key, "other model", model=other)
        assert refused.status_code == 403, f"{other}: {refused.status_code} {refused.text}"
        error = refused.json()["error"]
        assert (error["type"], error["param"], error["code"]) == ("key_model_access_denied", "model", "403")
    listed = http.get(f"{urls['litellm']}/v1/models", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert [model["id"] for model in listed] == [allowed]


# --------------------------------------------------------------------------------------------------- the vault


@pytest.mark.parametrize("name", sorted(VAULT_FILES))
def test_vault_file_is_encrypted_for_the_inventorys_vault_id(name):
    path = VAULT_DIR / name
    assert path.read_text().splitlines()[0] == f"$ANSIBLE_VAULT;1.2;AES256;{_vault_id()}"


@pytest.mark.parametrize("name", sorted(VAULT_FILES))
def test_vault_file_is_readable_by_its_owner_only(name):
    mode = stat.S_IMODE((VAULT_DIR / name).stat().st_mode)
    assert mode == 0o600, f"{name} has mode {mode:04o}"


@pytest.mark.parametrize("name", sorted(VAULT_FILES))
def test_vault_file_decrypts_with_the_vault_password_only(name, tmp_path):
    path = VAULT_DIR / name
    data = yaml.safe_load(_ansible_vault_view(path))
    assert isinstance(data[VAULT_FILES[name]], dict) and data[VAULT_FILES[name]]
    wrong = tmp_path / "wrong-password"
    wrong.write_text(f"not-the-password-{uuid.uuid4().hex}\n")
    failed = _ansible_vault_view(path, identity_list=f"{_vault_id()}@{wrong}", check=False)
    assert failed.returncode != 0
    assert "Decryption failed" in failed.stderr


def test_no_secret_appears_in_plaintext_in_the_vault_files(vault_vars):
    secrets = [
        value
        for variable in VAULT_FILES.values()
        for value in vault_vars[variable].values()
        if isinstance(value, str) and value
    ]
    assert len(secrets) >= len(DEFAULT_KEYS) + 3
    for path in sorted(VAULT_DIR.glob("*.vault.yml")):
        raw = path.read_text()
        assert "sk-" not in raw, f"{path.name} holds something shaped like a key"
        leaked = [secret[:6] + "..." for secret in secrets if secret in raw]
        assert not leaked, f"{path.name} holds plaintext secrets {leaked}"
        body = raw.splitlines()[1:]
        assert body and all(set(line) <= set("0123456789abcdef") for line in body), f"{path.name} is not all ciphertext"


# --------------------------------------------------------------------------------------------------- helpers


def _vault_id() -> str:
    """The vault id the run decrypts with: the label of ANSIBLE_VAULT_IDENTITY_LIST's first entry (test@file)."""
    identity = os.environ.get("ANSIBLE_VAULT_IDENTITY_LIST", "")
    assert "@" in identity, "ANSIBLE_VAULT_IDENTITY_LIST must name the vault id and its password file (id@file)"
    return identity.split(",")[0].split("@", 1)[0]


def _ansible_vault_view(path: Path, identity_list: str | None = None, check: bool = True):
    env = dict(os.environ)
    if identity_list is not None:
        env["ANSIBLE_VAULT_IDENTITY_LIST"] = identity_list
    result = subprocess.run(["ansible-vault", "view", str(path)], capture_output=True, text=True, env=env, check=False)
    if check:
        assert result.returncode == 0, result.stderr
        return result.stdout
    return result


def test_keys_step_again_changes_nothing_and_leaves_the_vault_byte_identical():
    """A second run of the key step (playbooks/keys.yml) sends no write and does not rewrite the vault files."""
    inventory = os.environ.get("LLM_GATEWAY_INVENTORY")
    if not inventory:
        pytest.fail("LLM_GATEWAY_INVENTORY is not set: the inventory of the deployed stack (molecule sets it)")
    files = sorted(VAULT_DIR.glob("*.vault.yml"))
    before = {path: (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns) for path in files}
    run = subprocess.run(
        ["ansible-playbook", "-i", inventory, str(Path(__file__).resolve().parents[2] / "playbooks/keys.yml")],
        capture_output=True, text=True, timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    recap = [line for line in run.stdout.splitlines() if "ok=" in line and "changed=" in line]
    assert recap and all("changed=0" in line for line in recap), recap
    after = {path: (path.read_bytes(), path.stat().st_ino, path.stat().st_mtime_ns) for path in files}
    assert after == before
