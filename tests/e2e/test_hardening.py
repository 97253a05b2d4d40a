"""Every container of the stack runs hardened (issue 12), as `docker inspect` shows it: all capabilities dropped and
none added back, no-new-privileges, memory and pids limits, json-file logs rotated; a read-only root filesystem and
a non-root user where the roles' defaults ask for them. The optional services (Redis, Prometheus) are checked where
they run."""

from __future__ import annotations

import json

import pytest

from conftest import CONTAINERS

# The roles' defaults (roles/<role>/defaults/main.yml, "Hardening" blocks); no inventory of the test scenarios
# overrides them. LiteLLM keeps its image's user and a writable root: the upstream image runs as root and writes
# at start (see docs/security.md).
OPTIONAL = {"redis": "litellm-redis", "prometheus": "prometheus"}
READ_ONLY = {"phoenix_db", "litellm_db", "phoenix", "balancer", "app", "redis", "prometheus"}
NON_ROOT = {"phoenix_db", "litellm_db", "phoenix", "balancer", "app", "redis", "prometheus"}
# Optional services run on the host of the service they serve.
OPTIONAL_NEXT_TO = {"redis": "litellm", "prometheus": "app"}


@pytest.fixture
def hardened(host_of, inspect):
    """docker inspect by role; None for an optional service that this stack does not run."""

    def _hardened(role: str) -> dict | None:
        if role in CONTAINERS:
            return inspect(role)
        run = host_of(OPTIONAL_NEXT_TO[role]).run("docker inspect %s", OPTIONAL[role])
        return json.loads(run.stdout)[0] if run.rc == 0 else None

    return _hardened


ROLES = sorted(CONTAINERS) + sorted(OPTIONAL)


def _info(hardened, role):
    info = hardened(role)
    if info is None:
        assert role in OPTIONAL, role
    return info


@pytest.mark.parametrize("role", ROLES)
def test_every_capability_is_dropped_and_none_added(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    assert info["HostConfig"]["CapDrop"] == ["ALL"], (role, info["HostConfig"]["CapDrop"])
    assert not info["HostConfig"]["CapAdd"], (role, info["HostConfig"]["CapAdd"])
    assert not info["HostConfig"]["Privileged"], role


@pytest.mark.parametrize("role", ROLES)
def test_no_new_privileges(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    assert "no-new-privileges:true" in (info["HostConfig"]["SecurityOpt"] or []), (role, info["HostConfig"]["SecurityOpt"])


@pytest.mark.parametrize("role", ROLES)
def test_memory_and_pids_are_limited(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    assert info["HostConfig"]["Memory"] >= 64 * 1024 * 1024, (role, info["HostConfig"]["Memory"])
    assert (info["HostConfig"]["PidsLimit"] or 0) >= 32, (role, info["HostConfig"]["PidsLimit"])


@pytest.mark.parametrize("role", ROLES)
def test_logs_are_rotated(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    log = info["HostConfig"]["LogConfig"]
    assert log["Type"] == "json-file", (role, log)
    assert log["Config"].get("max-size") and int(log["Config"].get("max-file", "0")) >= 1, (role, log)


@pytest.mark.parametrize("role", sorted(READ_ONLY))
def test_root_filesystem_is_read_only(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    assert info["HostConfig"]["ReadonlyRootfs"] is True, role


@pytest.mark.parametrize("role", sorted(NON_ROOT))
def test_process_runs_as_a_non_root_user(hardened, role):
    info = _info(hardened, role)
    if info is None:
        return
    user = info["Config"]["User"]
    assert user and user.split(":")[0] not in ("root", "0"), (role, user)


def test_a_read_only_container_cannot_write_its_root_filesystem(host_of):
    """The balancer's image has a shell: a write outside its tmpfs mounts fails (the flag is in force, not only set)."""
    run = host_of("balancer").run("docker exec %s sh -c 'touch /hardening-probe'", CONTAINERS["balancer"])
    assert run.rc != 0 and "Read-only file system" in run.stderr, run
