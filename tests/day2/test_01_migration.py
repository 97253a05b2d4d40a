"""migrate_from_compose.yml (run by converge): the seeded compose deployment's Phoenix data, password and containers."""

from __future__ import annotations

from day2lib import CONTAINERS, POSTGRES_IMAGE, SETTINGS, container_env, inspect, playbook, psql, sh, vault, vault_bytes, volume

COMPOSE = SETTINGS["day2_compose_projects"]["day2compose"]
CHECK = SETTINGS["day2_compose_projects"]["day2check"]
TARGET = SETTINGS["phoenix_postgres_volume_name"]


def test_the_marker_row_of_the_compose_deployment_is_in_the_phoenix_database():
    rows = psql("postgres-phoenix", f"SELECT note FROM {SETTINGS['day2_marker_table']}")
    assert rows == [SETTINGS["day2_marker_note"]]


def test_phoenix_runs_on_its_own_tables_beside_the_marker():
    tables = psql("postgres-phoenix", "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {"alembic_version", "spans", SETTINGS["day2_marker_table"]} <= set(tables)


def test_the_data_lives_in_the_configured_volume_copied_from_the_compose_one():
    mounts = {m["Destination"]: m for m in inspect(CONTAINERS["postgres-phoenix"])["Mounts"]}
    assert mounts["/var/lib/postgresql/data"]["Name"] == TARGET
    assert volume(TARGET)["Labels"]["llm-gateway.migrated-from"] == COMPOSE["volume"]


def test_the_compose_containers_are_gone():
    left = sh("docker", "ps", "-aq", "--filter", "label=com.docker.compose.project=day2compose").stdout.split()
    assert left == []
    # The new database took over the compose container's name and host port.
    info = inspect(CONTAINERS["postgres-phoenix"])
    assert "com.docker.compose.project" not in info["Config"]["Labels"]
    assert info["HostConfig"]["PortBindings"]["5432/tcp"][0]["HostPort"] == str(COMPOSE["published_port"])


def test_the_compose_volume_is_kept_as_a_backup():
    backup = volume(COMPOSE["volume"])
    assert backup is not None, f"{COMPOSE['volume']} was removed"
    version = sh(
        "docker", "run", "--rm", "--network", "none", "--label", "llm-gateway.test=day2",
        "-v", f"{COMPOSE['volume']}:/data:ro", "--entrypoint", "cat", POSTGRES_IMAGE, "/data/PG_VERSION",
    ).stdout.strip()
    assert version.isdigit()


def test_the_vault_keeps_the_password_that_protects_the_data():
    password = vault()["llm_gateway_secrets_values"]["phoenix_postgres_password"]
    assert password == SETTINGS["day2_compose_password"]
    assert container_env(inspect(CONTAINERS["postgres-phoenix"]))["POSTGRES_PASSWORD"] == password
    # Phoenix connects with it (healthy means its database answered).
    assert inspect(CONTAINERS["phoenix"])["State"]["Health"]["Status"] == "healthy"


def test_a_second_migration_run_changes_nothing():
    run = playbook("playbooks/migrate_from_compose.yml", "-e", "compose_project=day2compose")
    assert run.rc == 0, run
    assert run.changed == 0, run
    assert "nothing to migrate" in run.text


def test_check_mode_changes_nothing_and_says_what_it_would_do():
    """A second seeded compose deployment, looked at with --check only (into a volume name of its own)."""
    before_vault = vault_bytes()
    target = "day2_check_phoenix_postgres_data"
    run = playbook(
        "playbooks/migrate_from_compose.yml", "-e", "compose_project=day2check",
        "-e", f"phoenix_postgres_volume_name={target}", check=True,
    )
    assert run.rc == 0, run
    assert run.changed > 0, run  # it reports what it would do ...
    info = inspect(CHECK["container"])  # ... and does none of it
    assert info is not None and info["State"]["Running"]
    assert volume(target) is None
    assert vault_bytes() == before_vault
    assert "POSTGRES_PASSWORD" not in run.output and SETTINGS["day2_compose_password"] not in run.output


def test_an_unknown_project_changes_nothing():
    run = playbook("playbooks/migrate_from_compose.yml", "-e", "compose_project=day2-no-such-project")
    assert run.rc == 0, run
    assert run.changed == 0, run

