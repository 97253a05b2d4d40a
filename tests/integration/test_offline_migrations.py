"""The offline LiteLLM image's migrations script (images/litellm/litellm-offline/apply-migrations.sh, what its
entrypoint and site.yml's one-shot migrations container run) against a real PostgreSQL on a network made here: it
applies each migration LiteLLM ships once, in one psql session; a second run applies none; a migration that fails
stops the run with exit 1 and names its file."""

import os
import secrets
import subprocess
import time
import uuid

import pytest

from conftest import LABEL, LITELLM_IMAGE, OWNER_LABEL, POSTGRES_IMAGE, docker, remove_resources

SCRIPT = "/opt/litellm-offline/apply-migrations.sh"
MIGRATIONS = ("$(python -c 'import litellm_proxy_extras, os; "
              "print(os.path.join(os.path.dirname(litellm_proxy_extras.__file__), \"migrations\"))')")


@pytest.fixture(scope="module")
def database():
    """A PostgreSQL container on its own network; yields (network, DATABASE_URL)."""
    remove_resources(only_stale=True)
    suffix = uuid.uuid4().hex[:8]
    labels = ["--label", LABEL, "--label", "%s=%d" % (OWNER_LABEL, os.getpid())]
    network, name, password = "itest-mig-net-" + suffix, "itest-mig-pg-" + suffix, secrets.token_hex(12)
    docker("network", "create", *labels, network)
    try:
        docker("run", "-d", "--name", name, "--network", network, *labels, "-e", "POSTGRES_USER=litellm",
               "-e", "POSTGRES_PASSWORD=" + password, "-e", "POSTGRES_DB=litellm", POSTGRES_IMAGE)
        deadline = time.monotonic() + 120
        # Over TCP: the entrypoint's temporary first-start server answers on the Unix socket only.
        while subprocess.run(["docker", "exec", name, "pg_isready", "-q", "-h", "127.0.0.1", "-U", "litellm",
                              "-d", "litellm"]).returncode:
            assert time.monotonic() < deadline, "PostgreSQL %s not ready within 120 s" % name
            time.sleep(1)
        yield network, "postgresql://litellm:%s@%s:5432/litellm" % (password, name)
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("network", "rm", network, check=False)


def in_image(network, script):
    """Run a shell script in the LiteLLM image on the database's network."""
    return subprocess.run(["docker", "run", "--rm", "--network", network, "--label", LABEL, "--entrypoint", "sh",
                           LITELLM_IMAGE, "-c", script], capture_output=True, text=True, timeout=600)


def applied(network, url):
    """The recorded migrations, name -> applied_at."""
    done = in_image(network, "psql '%s' -XtA -F '|' -c 'SELECT name, applied_at FROM _litellm_offline_migrations'" % url)
    assert done.returncode == 0, done.stderr
    return dict(line.split("|", 1) for line in done.stdout.splitlines())


def test_each_migration_applied_once_and_a_second_run_applies_none(database):
    network, url = database
    shipped = in_image(network, "ls %s | while read -r m; do [ -f \"%s/$m/migration.sql\" ] && echo \"$m\"; done"
                       % (MIGRATIONS, MIGRATIONS)).stdout.splitlines()
    assert len(shipped) > 100, shipped

    first = in_image(network, "%s '%s'" % (SCRIPT, url))
    assert first.returncode == 0, first.stderr[-3000:]
    after_first = applied(network, url)
    assert sorted(after_first) == sorted(shipped)

    second = in_image(network, "%s '%s'" % (SCRIPT, url))
    assert second.returncode == 0, second.stderr[-3000:]
    assert applied(network, url) == after_first, "the second run applied a migration again"


def test_a_failing_migration_stops_the_run_and_is_named(database):
    network, url = database
    assert in_image(network, "%s '%s'" % (SCRIPT, url)).returncode == 0
    # A migration that creates a table without IF NOT EXISTS fails when applied again: forget that it was applied.
    found = in_image(network, "cd %s && grep -l '^CREATE TABLE \"' */migration.sql | head -n 1" % MIGRATIONS)
    assert found.returncode == 0 and found.stdout.strip(), found.stderr
    first = found.stdout.strip().split("/")[0]
    forget = in_image(network, "psql '%s' -Xqc \"DELETE FROM _litellm_offline_migrations WHERE name = '%s'\""
                      % (url, first))
    assert forget.returncode == 0, forget.stderr

    again = in_image(network, "%s '%s'" % (SCRIPT, url))
    assert again.returncode == 1, (again.returncode, again.stderr[-3000:])
    assert "%s/migration.sql" % first in again.stderr
    assert "a migration failed" in again.stderr
    assert first not in applied(network, url), "a failed migration was recorded as applied"
