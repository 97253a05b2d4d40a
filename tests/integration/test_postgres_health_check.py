"""The postgres role's health check (what site.yml's waits and Docker run) against a first start of the PostgreSQL
image: it must not pass while the entrypoint's temporary server runs on the Unix socket only, because the services
that connect over the network are refused then. An init script that sleeps holds that window open for the test."""

import os
import shlex
import subprocess
import time
import uuid

import jinja2
import pytest
import yaml

from conftest import LABEL, OWNER_LABEL, POSTGRES_IMAGE, REPO, docker, remove_resources

INIT_PAUSE = 8  # seconds the init script holds the temporary server


def role_health_check(user, database):
    """The role's health check command, rendered for this user and database."""
    tasks = yaml.safe_load((REPO / "roles/postgres/tasks/setup_install.yml").read_text())
    (ensure,) = [t for t in tasks if "_container_healthcheck" in t.get("vars", {})]
    test = ensure["vars"]["_container_healthcheck"]["test"]
    assert test[0] == "CMD-SHELL", test
    env = jinja2.Environment()
    env.filters["quote"] = shlex.quote
    return env.from_string(test[1]).render(postgres_user=user, postgres_db=database)


@pytest.fixture
def first_start(tmp_path):
    """A PostgreSQL container on its first start, its init script still running; yields its name."""
    remove_resources(only_stale=True)
    init = tmp_path / "initdb"
    init.mkdir()
    script = init / "pause.sh"
    script.write_text("#!/bin/sh\nsleep %d\n" % INIT_PAUSE)
    script.chmod(0o755)
    name = "itest-pghc-" + uuid.uuid4().hex[:8]
    docker("run", "-d", "--name", name, "--label", LABEL, "--label", "%s=%d" % (OWNER_LABEL, os.getpid()),
           "-v", "%s:/docker-entrypoint-initdb.d:ro" % init, "-e", "POSTGRES_USER=app_user",
           "-e", "POSTGRES_PASSWORD=health-check-test-only", "-e", "POSTGRES_DB=app", POSTGRES_IMAGE)
    try:
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)


def logs(name):
    out = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    return out.stdout + out.stderr


def probe(name, command):
    return subprocess.run(["docker", "exec", name, "sh", "-c", command], capture_output=True, text=True).returncode


def test_the_health_check_fails_until_the_server_accepts_tcp(first_start):
    name = first_start
    command = role_health_check("app_user", "app")
    socket_probe = "pg_isready -U app_user -d app"

    deadline = time.monotonic() + 120
    while "pause.sh" not in logs(name):
        assert time.monotonic() < deadline, "the init script did not start within 120 s"
        time.sleep(0.2)
    # The temporary server answers on its socket (what a socket probe would take for ready), not over TCP.
    assert probe(name, socket_probe) == 0
    assert probe(name, command) != 0, "the health check passed while only the temporary server ran"

    deadline = time.monotonic() + INIT_PAUSE + 120
    while probe(name, command) != 0:
        assert time.monotonic() < deadline, "the health check never passed"
        time.sleep(0.5)
    assert "initialisation complete" in logs(name)
    # Ready means a client on the network gets in: connect over TCP with the password.
    ip = docker("inspect", "--format", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", name)
    login = subprocess.run(["docker", "exec", "-e", "PGPASSWORD=health-check-test-only", name, "psql", "-h", ip,
                            "-U", "app_user", "-d", "app", "-XtAc", "SELECT 1"], capture_output=True, text=True)
    assert login.stdout.strip() == "1", login.stderr
