"""Helpers of the day-2 suite (conftest.py tells how it runs): playbook runs, docker, psql, the vault, HTTP."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
INVENTORY = Path(os.environ.get("DAY2_INVENTORY", REPO / "molecule/day2/inventory/hosts.yml"))
VAULT_PASSWORD_FILE = Path(os.environ.get("DAY2_VAULT_PASSWORD_FILE", REPO / "molecule/day2/vault-password"))
SETTINGS = yaml.safe_load((INVENTORY.parent / "group_vars/llm_gateway/main.yml").read_text())
STACK = yaml.safe_load((REPO / "group_vars/all/stack.yml").read_text())
POSTGRES_IMAGE = STACK["llm_gateway_images"][SETTINGS["llm_gateway_image_source"]]["postgres"]
LOG_DIR = REPO / ".test-results/day2-logs"

BIND = "127.0.0.1"
CONTAINERS = {
    "postgres-phoenix": SETTINGS["phoenix_postgres_container_name"],
    "postgres-litellm": SETTINGS["litellm_postgres_container_name"],
    "phoenix": SETTINGS["phoenix_container_name"],
    "litellm": SETTINGS["litellm_container_name"],
    "litellm-balancer": SETTINGS["balancer_container_name"],
    "redis": SETTINGS["redis_container_name"],
    "reasoning-api": SETTINGS["reasoning_api_container_name"],
}
URLS = {
    "phoenix": f"http://{BIND}:{SETTINGS['phoenix_published_http_port']}",
    "litellm": f"http://{BIND}:{SETTINGS['litellm_published_port']}",
    "app": f"http://{BIND}:{SETTINGS['reasoning_api_published_port']}",
    "fake": f"http://{BIND}:{SETTINGS['fake_openai_published_port']}",
}
# The upgrade (test_05) and every later run deploy these image references, as an operator would after bumping them.
UPGRADE_VARS = {
    "phoenix_image": SETTINGS["day2_upgrade_images"]["phoenix"],
    "litellm_image": SETTINGS["day2_upgrade_images"]["litellm"],
}

RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)\s+"
    r"failed=(?P<failed>\d+)\s+skipped=(?P<skipped>\d+)",
    re.MULTILINE,
)


@dataclass
class Run:
    args: list[str]
    rc: int
    output: str
    seconds: float

    @property
    def recap(self) -> dict[str, int]:
        """Counters of the PLAY RECAP summed over hosts (ok, changed, failed, ...)."""
        totals = {"ok": 0, "changed": 0, "unreachable": 0, "failed": 0, "skipped": 0}
        found = False
        for m in RECAP.finditer(self.output):
            found = True
            for key in totals:
                totals[key] += int(m.group(key))
        assert found, f"no PLAY RECAP in the output of {' '.join(self.args)}:\n{self.tail()}"
        return totals

    @property
    def changed(self) -> int:
        return self.recap["changed"]

    @property
    def text(self) -> str:
        """The output with whitespace runs collapsed (messages wrap across lines)."""
        return " ".join(self.output.split())

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]

    def __str__(self) -> str:  # what a failed assertion shows
        return f"ansible-playbook {' '.join(self.args)} -> rc {self.rc}\n{self.tail()}"


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    # The repository's own settings (molecule's ANSIBLE_CONFIG points at its scenario copy), the test vault identity,
    # plain output (the repository's callback: waits print as waits).
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_VAULT_IDENTITY_LIST=f"test@{VAULT_PASSWORD_FILE}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="llm_gateway.stack.progress",
        ANSIBLE_CALLBACK_RESULT_FORMAT="yaml",
        NO_COLOR="1",
    )
    env.pop("ANSIBLE_FORCE_COLOR", None)
    env.pop("ANSIBLE_INVENTORY", None)
    return env


def playbook(path: str, *args: str, extra: dict | None = None, check: bool = False) -> Run:
    """ansible-playbook PATH -i INVENTORY [args]; output kept in .test-results/day2-logs/ for a look afterwards."""
    cmd = [path, "-i", str(INVENTORY), *args]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    if check:
        cmd.append("--check")
    start = time.monotonic()
    proc = subprocess.run(
        ["ansible-playbook", *cmd], cwd=REPO, env=ansible_env(), capture_output=True, text=True, timeout=1200
    )
    run = Run(cmd, proc.returncode, proc.stdout + proc.stderr, time.monotonic() - start)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", " ".join(cmd[:1] + [a for a in cmd[3:] if not a.startswith("{")]))[:80]
    (LOG_DIR / f"{time.strftime('%H%M%S')}-{name}.log").write_text(f"$ ansible-playbook {' '.join(cmd)}\n{run.output}")
    print(f"ansible-playbook {' '.join(cmd)}: rc {run.rc}, {run.seconds:.0f} s")
    return run


def sh(*cmd: str, check: bool = True, **options) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check, **options)


def inspect(name: str) -> dict | None:
    proc = sh("docker", "inspect", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def volume(name: str) -> dict | None:
    proc = sh("docker", "volume", "inspect", name, check=False)
    return json.loads(proc.stdout)[0] if proc.returncode == 0 else None


def container_env(info: dict) -> dict[str, str]:
    return dict(item.split("=", 1) for item in info["Config"]["Env"])


def psql(service: str, sql: str) -> list[str]:
    """Rows of a query in one of the stack's databases, as `col|col` lines."""
    user, db = {
        "postgres-phoenix": (SETTINGS.get("phoenix_postgres_user", "phoenix_user"), "phoenix"),
        "postgres-litellm": ("litellm_user", "litellm"),
    }[service]
    out = sh("docker", "exec", CONTAINERS[service], "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", user, "-d", db, "-c", sql)
    return [line for line in out.stdout.splitlines() if line]


def vault_files() -> list[Path]:
    """The inventory's vault files (its vault/ folder)."""
    return sorted(INVENTORY.parent.glob("vault/*.vault.yml"))


def vault() -> dict:
    """Every variable of the inventory's vault files, decrypted with the test identity."""
    merged: dict = {}
    for path in vault_files():
        plaintext = subprocess.run(
            ["ansible-vault", "view", str(path)], env=ansible_env(), check=True, capture_output=True, text=True
        ).stdout
        merged.update(yaml.safe_load(plaintext) or {})
    return merged


def vault_bytes() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in vault_files()}


def wait_healthy(name: str, timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        info = inspect(name)
        if info and info["State"].get("Health", {}).get("Status") == "healthy":
            return info
        if time.monotonic() > deadline:
            pytest.fail(f"{name} not healthy after {timeout} s: {info and info['State']}")
        time.sleep(2)


def snapshot() -> dict[str, tuple[str, str]]:
    """Id and start time of every service container."""
    return {svc: (info["Id"], info["State"]["StartedAt"]) for svc, name in CONTAINERS.items() if (info := inspect(name))}


def chat(client: httpx.Client, base: str, key: str | None, text: str, model: str = "gpt-4o-mini",
         metadata: dict | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"model": model, "messages": [{"role": "user", "content": text}]}
    if metadata:
        body["metadata"] = metadata
    return client.post(f"{base}/v1/chat/completions", headers=headers, json=body)


def app_chat(client: httpx.Client, text: str) -> httpx.Response:
    """A completion through the app: app → its virtual key → LiteLLM → the fake upstream."""
    return chat(client, URLS["app"], vault()["llm_gateway_secrets_values"]["reasoning_api_client_token"], text)


def spans(client: httpx.Client, limit: int = 1000) -> list[dict]:
    # Phoenix has authentication on: the system API key the playbook keeps in the vault.
    key = vault()["llm_gateway_secrets_values"]["phoenix_api_key"]
    response = client.get(f"{URLS['phoenix']}/v1/projects/default/spans", params={"limit": limit},
                          headers={"Authorization": f"Bearer {key}"})
    response.raise_for_status()
    return response.json()["data"]
