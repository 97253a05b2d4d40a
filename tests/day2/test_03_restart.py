"""restart.yml: one service restarted and healthy again, the others untouched; unknown names refused first.
ready.yml: waits for a service still starting, and names a missing one."""

from __future__ import annotations

import re

import httpx
from day2lib import CONTAINERS, URLS, inspect, playbook, sh, snapshot


def test_restart_phoenix_brings_it_back_healthy():
    before = snapshot()
    run = playbook("playbooks/restart.yml", "-e", "service=phoenix")
    assert run.rc == 0, run
    after = snapshot()
    assert after["phoenix"][0] == before["phoenix"][0], "restart must keep the container (same Id)"
    assert after["phoenix"][1] > before["phoenix"][1], "phoenix was not restarted"
    assert inspect(CONTAINERS["phoenix"])["State"]["Health"]["Status"] == "healthy"
    assert {k: v for k, v in after.items() if k != "phoenix"} == {k: v for k, v in before.items() if k != "phoenix"}


def test_restart_of_an_unknown_service_is_refused_before_anything():
    before = snapshot()
    run = playbook("playbooks/restart.yml", "-e", "service=litellm-proxy")
    assert run.rc != 0, run
    assert run.recap["ok"] == 0 and run.changed == 0, run
    assert "Unknown service 'litellm-proxy'. Valid names: postgres-phoenix, postgres-litellm, phoenix, litellm," in run.text
    assert snapshot() == before


def test_ready_probes_a_service_docker_still_reports_starting():
    app = CONTAINERS["reasoning-api"]
    sh("docker", "restart", app)
    assert inspect(app)["State"]["Health"]["Status"] == "starting"
    run = playbook("playbooks/ready.yml")
    assert run.rc == 0 and run.changed == 0, run
    # Docker's status lags by one check interval: the run probed the app itself instead of taking "starting".
    assert re.search(r"Probe the services Docker does not report healthy yet, all at once\] \*+\s+ok:", run.output), run
    assert httpx.get(URLS["app"] + "/health", timeout=10).status_code == 200


def test_ready_fails_naming_a_missing_service():
    app = CONTAINERS["reasoning-api"]
    sh("docker", "rename", app, app + "-aside")
    try:
        run = playbook("playbooks/ready.yml")
    finally:
        sh("docker", "rename", app + "-aside", app)
    assert run.rc != 0, run
    assert f"{app} is not ready after" in run.text and "no such container" in run.text, run
    assert [name for name in CONTAINERS.values() if f"{name} is not ready" in run.text] == [app], run
