"""An upgrade of LiteLLM and Phoenix by bumping their image references in a site.yml run.

The "new versions" are the offline images re-tagged (…:1.108.7-day2upgrade, …:20.26.1-day2upgrade): the same image
content under a new reference, not a new upstream release. What it shows: only those two containers are recreated,
their migrations are not applied again, the keys and Phoenix's data (the compose marker row, earlier spans) survive.
"""

from __future__ import annotations

import time

import pytest

from day2lib import (
    CONTAINERS,
    SETTINGS,
    STACK,
    UPGRADE_VARS,
    URLS,
    app_chat,
    chat,
    playbook,
    psql,
    sh,
    snapshot,
    spans,
    vault,
    wait_healthy,
)

OFFLINE = STACK["llm_gateway_images"][SETTINGS["llm_gateway_image_source"]]


def litellm_migrations() -> list[str]:
    """What LiteLLM's migration bookkeeping holds: the offline image's table, or Prisma's (upstream image)."""
    tables = psql("postgres-litellm", "SELECT tablename FROM pg_tables WHERE tablename IN ('_litellm_offline_migrations', '_prisma_migrations')")
    assert tables, "no migration bookkeeping table in LiteLLM's database"
    if "_litellm_offline_migrations" in tables:
        return psql("postgres-litellm", "SELECT name, applied_at FROM _litellm_offline_migrations ORDER BY name")
    return psql("postgres-litellm", "SELECT migration_name, finished_at, rolled_back_at FROM _prisma_migrations ORDER BY 1")


@pytest.fixture(scope="module")
def upgrade(http):
    """Spans and state before; then the re-tag and the site.yml run with the bumped image references."""
    marker = f"day2-before-upgrade-{time.time_ns()}"
    assert app_chat(http, marker).status_code == 200
    deadline = time.monotonic() + 60
    while not (before_spans := [s for s in spans(http) if marker in str(s.get("attributes", {}))]):
        assert time.monotonic() < deadline, f"no span with {marker} reached Phoenix"
        time.sleep(2)
    state = {
        "snapshot": snapshot(),
        "spans": {s["context"]["span_id"] for s in spans(http)},
        "marker_spans": {s["context"]["span_id"] for s in before_spans},
        "alembic": psql("postgres-phoenix", "SELECT version_num FROM alembic_version"),
        "litellm_migrations": litellm_migrations(),
    }
    for service in ("phoenix", "litellm"):
        sh("docker", "tag", OFFLINE[service], UPGRADE_VARS[f"{service}_image"])
    state["run"] = playbook("site.yml", extra=UPGRADE_VARS)
    return state


def test_the_upgrade_run_succeeds(upgrade):
    assert upgrade["run"].rc == 0, upgrade["run"]


def test_only_litellm_and_phoenix_are_recreated_on_the_new_images(upgrade):
    after = snapshot()
    for service in ("phoenix", "litellm"):
        assert after[service][0] != upgrade["snapshot"][service][0], f"{service} was not recreated"
        # site.yml ends once each service answers its own health check; Docker's status follows at its next check.
        info = wait_healthy(CONTAINERS[service], 60)
        assert info["Config"]["Image"] == UPGRADE_VARS[f"{service}_image"], service
    for service in ("postgres-phoenix", "postgres-litellm", "litellm-balancer", "reasoning-api"):
        assert after[service] == upgrade["snapshot"][service], f"{service} was touched by the upgrade"


def test_migrations_are_not_applied_again(upgrade):
    assert psql("postgres-phoenix", "SELECT version_num FROM alembic_version") == upgrade["alembic"]
    assert len(upgrade["alembic"]) == 1
    assert litellm_migrations() == upgrade["litellm_migrations"]


def test_the_virtual_keys_still_authenticate(upgrade, http):
    for alias, secret in vault()["litellm_keys_secrets"].items():
        response = chat(http, URLS["litellm"], secret, f"after upgrade, {alias}")
        assert response.status_code == 200, response.text
    assert app_chat(http, "through the app after the upgrade").status_code == 200


def test_phoenix_keeps_the_compose_marker_and_the_earlier_spans(upgrade, http):
    assert psql("postgres-phoenix", f"SELECT note FROM {SETTINGS['day2_marker_table']}") == [SETTINGS["day2_marker_note"]]
    now = {s["context"]["span_id"] for s in spans(http)}
    assert upgrade["marker_spans"] <= now
    assert upgrade["spans"] <= now

