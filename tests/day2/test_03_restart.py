"""restart.yml: one service restarted and healthy again, the others untouched; unknown names refused first."""

from __future__ import annotations

from day2lib import CONTAINERS, inspect, playbook, snapshot


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
