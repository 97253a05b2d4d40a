"""After every day-2 operation, the deployment is still exactly what site.yml makes: a run changes nothing."""

from __future__ import annotations

from day2lib import UPGRADE_VARS, playbook


def test_site_after_the_day2_operations_changes_nothing():
    run = playbook("site.yml", extra=UPGRADE_VARS)
    assert run.rc == 0, run
    assert run.changed == 0, run


def test_status_is_still_all_healthy():
    run = playbook("playbooks/status.yml")
    assert run.rc == 0, run
    assert run.changed == 0, run
