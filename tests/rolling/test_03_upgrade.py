"""An upgrade of LiteLLM from its earlier release to the pinned one (a real version change with new database
migrations) rolls over the replicas under traffic: the new migrations run exactly once, in a one-shot container,
before the first replica moves and while the old replicas serve; no request fails; keys, spend and budgets stay."""

from __future__ import annotations

import calendar
import time

from rollinglib import (CHANGES, PINNED_IMAGE, PREVIOUS_IMAGE, REPLICAS, URLS, Traffic, balancer_servers, inspect,
                        playbook, psql, sh, vault)


def key_info(http, master: str, key: str) -> dict:
    response = http.get(f"{URLS['litellm']}/key/info", params={"key": key}, headers={"Authorization": f"Bearer {master}"})
    assert response.status_code == 200, response.text
    return response.json()["info"]


def versions(image: str) -> str:
    return sh("docker", "run", "--rm", "--entrypoint", "python", image, "-c",
              "import importlib.metadata as m; print(m.version('litellm'))").stdout.strip()


def test_the_upgrade_is_a_real_version_change():
    assert versions(PREVIOUS_IMAGE) == "1.106.12"
    assert versions(PINNED_IMAGE) == "1.108.7"
    assert {inspect(name)["Config"]["Image"] for name in REPLICAS} == {PREVIOUS_IMAGE}


def test_an_upgrade_fails_no_request_and_keeps_keys_spend_and_budgets(http):
    secrets = vault()
    master, keys = secrets["llm_gateway_secrets_values"]["litellm_master_key"], secrets["litellm_keys_secrets"]
    # The app's traffic so far has spend; LiteLLM writes it in batches: wait (bounded) until it shows.
    deadline = time.monotonic() + 120
    while (spend_before := key_info(http, master, keys["litellm-dev"])["spend"]) <= 0:
        assert time.monotonic() < deadline, "no spend recorded for the app's key"
        time.sleep(3)
    budget_before = key_info(http, master, keys["litellm-budget"])
    migrations_before = set(psql("SELECT name FROM _litellm_offline_migrations"))
    started = time.time()

    CHANGES["litellm_image"] = PINNED_IMAGE
    with Traffic() as traffic:
        run = playbook("site.yml")
        assert traffic.running, "the traffic ended before the upgrade did: " + traffic.summary()
    assert run.rc == 0, run
    assert traffic.failures == [], traffic.summary()
    assert traffic.ok > 0, traffic.summary()
    assert {inspect(name)["Config"]["Image"] for name in REPLICAS} == {PINNED_IMAGE}
    assert {s["status"] for s in balancer_servers().values()} == {"UP"}

    # The new release's migrations: applied once each (the table's key), all before the first new replica started.
    rows = psql("SELECT name, extract(epoch FROM applied_at) FROM _litellm_offline_migrations")
    applied = {name: float(at) for name, at in (row.split("|") for row in rows)}
    new = {name: at for name, at in applied.items() if name not in migrations_before}
    assert len(rows) == len(applied)
    assert new, "the pinned release brings migrations the earlier one lacks"
    assert all(at >= started - 5 for at in new.values())
    first_start = min(calendar.timegm(time.strptime(inspect(name)["State"]["StartedAt"][:19], "%Y-%m-%dT%H:%M:%S"))
                      for name in REPLICAS)
    assert max(new.values()) < first_start, "migrations ran before the first replica moved to the new release"
    assert run.output.count("TASK [llm_gateway.stack.litellm : Apply the database migrations of") == 1

    # Keys, spend and budgets are intact, and the keys still work.
    app_after = key_info(http, master, keys["litellm-dev"])
    assert app_after["spend"] >= spend_before
    budget_after = key_info(http, master, keys["litellm-budget"])
    for field in ("key_alias", "max_budget", "budget_duration", "models", "spend"):
        assert budget_after[field] == budget_before[field], field
    response = http.post(f"{URLS['litellm']}/v1/chat/completions", headers={"Authorization": f"Bearer {keys['litellm-dev']}"},
                         json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "after the upgrade"}]})
    assert response.status_code == 200, response.text

    again = playbook("site.yml")
    assert again.rc == 0 and again.changed == 0, again
