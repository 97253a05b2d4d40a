"""End-to-end checks of a deployed stack: run by molecule's verifier, or by hand against any deployment.

Settings come from the environment (defaults fit the dev inventory on this host):
  LLM_GATEWAY_VAULT_DIR   the inventory's vault folder (its *.vault.yml files are decrypted with ANSIBLE_VAULT_IDENTITY_LIST)
  PHOENIX_URL, LITELLM_URL, REASONING_API_URL   published URLs
  FAKE_OPENAI_URL         the test upstream's URL; its checks need it (the test stack always sets it)
  LLM_GATEWAY_KEYS        JSON: the inventory's keys, alias → metadata (default: the dev inventory's)
  LLM_GATEWAY_APP_LLM_BASE_URL  the LiteLLM URL the app is given (default: by alias, on its host's network)
  LLM_GATEWAY_CONTAINER_HOSTS   JSON: where each container runs, as a testinfra host by role (e.g.
                          {"phoenix_db": "docker://mh-db"}); a role not named runs on the verifier's own host
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import testinfra
import yaml

CONTAINERS = {
    "phoenix_db": os.environ.get("PHOENIX_POSTGRES_CONTAINER", "phoenix-postgres"),
    "litellm_db": os.environ.get("LITELLM_POSTGRES_CONTAINER", "litellm-postgres"),
    "phoenix": os.environ.get("PHOENIX_CONTAINER", "phoenix"),
    "litellm": os.environ.get("LITELLM_CONTAINER", "litellm-proxy"),
    "balancer": os.environ.get("BALANCER_CONTAINER", "litellm-balancer"),
    "app": os.environ.get("REASONING_API_CONTAINER", "reasoning-api"),
}


def _vault_vars() -> dict:
    folder = Path(os.environ.get("LLM_GATEWAY_VAULT_DIR", "inventories/dev/vault"))
    merged: dict = {}
    for path in sorted(folder.glob("*.vault.yml")):
        plaintext = subprocess.run(
            ["ansible-vault", "view", str(path)], check=True, capture_output=True, text=True
        ).stdout
        merged.update(yaml.safe_load(plaintext) or {})
    return merged


@pytest.fixture(scope="session")
def vault_vars() -> dict:
    data = _vault_vars()
    assert "llm_gateway_secrets_values" in data, "no llm_gateway_secrets_values in the inventory's vault files"
    return data


@pytest.fixture(scope="session")
def secrets(vault_vars) -> dict:
    return vault_vars["llm_gateway_secrets_values"]


@pytest.fixture(scope="session")
def urls() -> dict:
    return {
        "phoenix": os.environ.get("PHOENIX_URL", "http://127.0.0.1:6006"),
        "litellm": os.environ.get("LITELLM_URL", "http://127.0.0.1:4000"),
        "app": os.environ.get("REASONING_API_URL", "http://127.0.0.1:8000"),
        "prometheus": os.environ.get("PROMETHEUS_URL", "http://127.0.0.1:9090"),
    }


@pytest.fixture(scope="session")
def fake_openai_url() -> str:
    url = os.environ.get("FAKE_OPENAI_URL")
    if not url:
        pytest.fail("FAKE_OPENAI_URL is not set: these checks need the test stack's fake upstream")
    return url


class StackCredentials(httpx.Auth):
    """Phoenix (authentication on) and the reasoning-api (client tokens) need a bearer token: a request to either
    that carries no Authorization header of its own gets the one from the vault (Phoenix's system API key, the app's
    client token). Checks of what an anonymous caller gets use the ``anonymous`` client instead."""

    def __init__(self, tokens_by_url: dict[str, str]):
        self.tokens_by_url = tokens_by_url

    def auth_flow(self, request):
        if "authorization" not in request.headers:
            for url, token in self.tokens_by_url.items():
                if str(request.url).startswith(url) and token:
                    request.headers["Authorization"] = f"Bearer {token}"
                    break
        yield request


@pytest.fixture(scope="session")
def http(urls, secrets) -> httpx.Client:
    credentials = StackCredentials({urls["phoenix"]: secrets.get("phoenix_api_key", ""),
                                    urls["app"]: secrets.get("reasoning_api_client_token", "")})
    with httpx.Client(timeout=60, auth=credentials) as client:
        yield client


@pytest.fixture(scope="session")
def anonymous() -> httpx.Client:
    """A client that sends no credentials."""
    with httpx.Client(timeout=60) as client:
        yield client


CONTAINER_HOSTS = json.loads(os.environ.get("LLM_GATEWAY_CONTAINER_HOSTS", "{}"))
# The inventory's keys, alias → metadata (JSON; the default is the dev inventory's).
INVENTORY_KEYS = json.loads(os.environ.get("LLM_GATEWAY_KEYS", "null")) or {
    "litellm-dev": {"environment": "development"}, "litellm-eval": {"environment": "evaluation"}}


@pytest.fixture
def host_of(host):
    """The testinfra host a stack container runs on, by role name (phoenix_db, litellm_db, phoenix, litellm, app)."""

    def _host_of(role: str):
        return testinfra.get_host(CONTAINER_HOSTS[role]) if role in CONTAINER_HOSTS else host

    return _host_of


@pytest.fixture
def inspect(host_of):
    """docker inspect of a stack container by role name."""

    def _inspect(role: str) -> dict:
        return host_of(role).docker(CONTAINERS[role]).inspect()

    return _inspect


def container_env(info: dict) -> dict:
    return dict(item.split("=", 1) for item in info["Config"]["Env"])


def sha256_hex(text: str) -> str:
    """LiteLLM's token of a key: the sha256 of its secret."""
    return hashlib.sha256(text.encode()).hexdigest()


def key_info(http, urls, master_headers, key: str) -> dict:
    """LiteLLM's /key/info of a key, found by its token."""
    response = http.get(f"{urls['litellm']}/key/info", params={"key": sha256_hex(key)}, headers=master_headers)
    assert response.status_code == 200, response.text
    return response.json()["info"]


def litellm_chat(http, urls, key: str, content: str, model: str = "gpt-4o-mini"):
    """One chat completion straight to LiteLLM with the given key; the response, whatever its status."""
    return http.post(
        f"{urls['litellm']}/v1/chat/completions",
        headers={"Authorization": f"Bearer {key}"},
        json={"model": model, "messages": [{"role": "user", "content": content}]},
    )


PHOENIX_PROJECT = os.environ.get("PHOENIX_PROJECT", "default")


def phoenix_spans(http, urls, *, since: datetime, **filters) -> list[dict]:
    """Spans of the project since a time, following the REST API's cursor (filters: name, trace_id, attribute)."""
    params = {"limit": 1000, "start_time": since.isoformat(), **filters}
    spans: list[dict] = []
    while True:
        response = http.get(f"{urls['phoenix']}/v1/projects/{PHOENIX_PROJECT}/spans", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        spans += page["data"]
        if not page.get("next_cursor"):
            return spans
        params["cursor"] = page["next_cursor"]


def forbidden_keys(secrets: dict, app_key: str, inspect) -> dict[str, str]:
    """The keys no span or metric may hold, by what they are."""
    return {
        "the app's virtual key": app_key,
        "the master key": secrets["litellm_master_key"],
        "the salt key": secrets["litellm_salt_key"],
        "the upstream key": container_env(inspect("litellm"))["OPENAI_API_KEY"],
    }


def assert_no_key_in_spans(spans: list[dict], forbidden: dict[str, str]) -> None:
    """No span (attributes and events) holds a forbidden key or records an Authorization header."""
    for span in spans:
        text = json.dumps(span)
        leaked = [what for what, value in forbidden.items() if value in text]
        assert not leaked, f"span {span['name']} {span['context']['span_id']} holds {leaked}"
        headers = [name for name in _flat_keys(span) if "authorization" in name.lower()]
        assert not headers, f"span {span['name']} records {headers}"


def _flat_keys(value, prefix: str = "") -> list[str]:
    """Every key path of a nested JSON value (span attributes are flat dotted keys, events nest)."""
    if isinstance(value, dict):
        return [path for k, v in value.items() for path in [f"{prefix}{k}", *_flat_keys(v, f"{prefix}{k}.")]]
    if isinstance(value, list):
        return [path for i, v in enumerate(value) for path in _flat_keys(v, f"{prefix}{i}.")]
    return []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Each phase's report on the test item (item.rep_call...), for fixtures that act on a failure (screenshots)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)
