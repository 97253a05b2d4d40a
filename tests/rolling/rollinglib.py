"""Helpers of the rolling suite (conftest.py tells how it runs): playbook runs, docker, psql, the vault, HTTP, and the
bounded traffic that must see no failed request while the stack changes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
INVENTORY = Path(os.environ.get("ROLLING_INVENTORY", REPO / "molecule/rolling/inventory/hosts.yml"))
VAULT_PASSWORD_FILE = Path(os.environ.get("ROLLING_VAULT_PASSWORD_FILE", REPO / "molecule/rolling/vault-password"))
SETTINGS = yaml.safe_load((INVENTORY.parent / "group_vars/llm_gateway/main.yml").read_text())
STACK = yaml.safe_load((REPO / "group_vars/all/stack.yml").read_text())
LOG_DIR = REPO / ".test-results/rolling-logs"

FIRST = SETTINGS["litellm_container_name"]
REPLICAS = [FIRST] + [f"{FIRST}-{n}" for n in range(2, SETTINGS["litellm_replicas"] + 1)]
BALANCER = SETTINGS["balancer_container_name"]
POSTGRES = SETTINGS["litellm_postgres_container_name"]
PREVIOUS_IMAGE = SETTINGS["litellm_image"]
PINNED_IMAGE = STACK["llm_gateway_images"]["offline"]["litellm"]
URLS = {
    "litellm": f"http://127.0.0.1:{SETTINGS['litellm_published_port']}",
    "app": f"http://127.0.0.1:{SETTINGS['reasoning_api_published_port']}",
}
RECAP = re.compile(r"^\S+\s+:\s+ok=\d+\s+changed=(?P<changed>\d+)\s+unreachable=\d+\s+failed=(?P<failed>\d+)", re.MULTILINE)

# Settings every later run keeps (as an operator's inventory would): each test adds its change here.
CHANGES: dict = {}


@dataclass
class Run:
    args: list[str]
    rc: int
    output: str

    @property
    def changed(self) -> int:
        found = [int(m.group("changed")) for m in RECAP.finditer(self.output)]
        assert found, f"no PLAY RECAP in the output:\n{self.output[-4000:]}"
        return sum(found)

    def __str__(self) -> str:  # what a failed assertion shows
        return f"ansible-playbook {' '.join(self.args)} -> rc {self.rc}\n{self.output[-6000:]}"


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_VAULT_IDENTITY_LIST=f"test@{VAULT_PASSWORD_FILE}",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default",
        NO_COLOR="1",
    )
    env.pop("ANSIBLE_FORCE_COLOR", None)
    env.pop("ANSIBLE_INVENTORY", None)
    return env


def playbook(path: str, *args: str) -> Run:
    """ansible-playbook PATH -i INVENTORY -e CHANGES [args]; output kept in .test-results/rolling-logs/."""
    cmd = [path, "-i", str(INVENTORY), "-e", json.dumps(CHANGES), *args]
    proc = subprocess.run(["ansible-playbook", *cmd], cwd=REPO, env=ansible_env(), capture_output=True, text=True,
                          check=False, timeout=1200)
    run = Run(cmd, proc.returncode, proc.stdout + proc.stderr)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", " ".join([path, *args]))[:60]
    (LOG_DIR / f"{time.strftime('%H%M%S')}-{name}.log").write_text(f"$ ansible-playbook {' '.join(cmd)}\n{run.output}")
    return run


def sh(*cmd: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, check=check)


def inspect(name: str) -> dict:
    return json.loads(sh("docker", "inspect", name).stdout)[0]


def psql(sql: str) -> list[str]:
    out = sh("docker", "exec", POSTGRES, "psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-U", "litellm_user",
             "-d", "litellm", "-c", sql)
    return [line for line in out.stdout.splitlines() if line]


def vault() -> dict:
    merged: dict = {}
    for path in sorted(INVENTORY.parent.glob("vault/*.vault.yml")):
        plaintext = sh("ansible-vault", "view", "--vault-id", f"test@{VAULT_PASSWORD_FILE}", str(path)).stdout
        merged.update(yaml.safe_load(plaintext) or {})
    return merged


def balancer_servers() -> dict[str, dict[str, str]]:
    """The balancer's view of each replica (HAProxy `show stat`): status, current and total sessions."""
    script = 'exec 3<>/dev/tcp/127.0.0.1/9999 && echo "show stat -1 4 -1" >&3 && cat <&3'
    lines = sh("docker", "exec", BALANCER, "bash", "-c", script).stdout.splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line.strip()]
    return {row["svname"]: {"status": row["status"], "scur": row["scur"], "stot": row["stot"]} for row in rows
            if row["pxname"] == "litellm"}  # the replicas' backend (the entry point's backends are beside it)


@dataclass
class Traffic:
    """Steady requests through the app (app → balancer → replicas → fake upstream) from a few threads, on loopback,
    until stopped, and never more than max_requests or max_seconds. Every answer other than 200 is a failure.

    Each client pauses between requests: at most 8 requests a second in all, so that a gap in service of half a
    second fails requests, while the traffic leaves the replicas that are starting (and the other stacks of CI on the
    same two cores) CPU to start with. Measured on the one-host stack: 14 requests a second keep 1.0 core busy, 8 a
    second 0.58, an idle stack 0.13."""

    clients: int = 4
    pause_seconds: float = 0.5
    max_requests: int = 40000
    max_seconds: float = 1500
    ok: int = 0
    failures: list[str] = field(default_factory=list)

    def __enter__(self) -> Traffic:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._deadline = time.monotonic() + self.max_seconds
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def join(self) -> None:
        """Wait until a bound ends the traffic (max_requests or max_seconds)."""
        for thread in self._threads:
            thread.join(timeout=self.max_seconds + 60)

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=120)

    @property
    def running(self) -> bool:
        """Still sending (neither bound reached): what ran alongside a change covered all of it."""
        return all(thread.is_alive() for thread in self._threads)

    @property
    def sent(self) -> int:
        return self.ok + len(self.failures)

    def _client(self, n: int) -> None:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"rolling traffic {n}"}]}
        token = vault()["llm_gateway_secrets_values"]["reasoning_api_client_token"]  # the app's client token
        with httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"}) as client:
            while not self._stop.is_set() and time.monotonic() < self._deadline and self.sent < self.max_requests:
                try:
                    response = client.post(f"{URLS['app']}/v1/chat/completions", json=body)
                    failure = None if response.status_code == 200 else f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as error:
                    failure = f"{type(error).__name__}: {error}"
                with self._lock:
                    if failure is None:
                        self.ok += 1
                    else:
                        self.failures.append(failure)
                self._stop.wait(self.pause_seconds)

    def summary(self) -> str:
        text = f"{self.ok} ok, {len(self.failures)} failed of {self.sent}; first failures: {self.failures[:5]}"
        if self.failures:  # why the balancer refused them: its server state changes
            log = sh("docker", "logs", "--tail", "400", BALANCER, check=False)
            changes = [line for line in (log.stdout + log.stderr).splitlines() if line.startswith("Server ")]
            text += "\nthe balancer's last server state changes:\n" + "\n".join(changes[-20:])
        return text
