"""Phoenix keeps traces as the inventory says, read back through its GraphQL API with the system key: the default
policy's days and each configured project's own policy. A changed setting reaches the running Phoenix with the next
run (PHOENIX_DEFAULT_RETENTION_POLICY_DAYS alone would not: Phoenix reads it on an empty database only)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

# What the scenario's inventory sets (molecule.yml); the roles' defaults otherwise.
EXPECTED = json.loads(os.environ.get("PHOENIX_RETENTION", '{"default_days": 30, "projects": {}}'))
PLAYBOOK = str(Path(__file__).resolve().parents[2] / "playbooks" / "phoenix_retention.yml")
DAYS = "rule { ... on TraceRetentionRuleMaxDays { maxDays } }"
QUERY = ("{ defaultProjectTraceRetentionPolicy { %s } projects(first: 1000) { edges { node { name "
         "traceRetentionPolicy { name %s } } } } }" % (DAYS, DAYS))


def retention(http, urls) -> tuple[float, dict]:
    """The default policy's days, and each project's (policy name, days)."""
    response = http.post(f"{urls['phoenix']}/graphql", json={"query": QUERY})
    assert response.status_code == 200 and not response.json().get("errors"), response.text
    data = response.json()["data"]
    projects = {edge["node"]["name"]: (edge["node"]["traceRetentionPolicy"]["name"],
                                       edge["node"]["traceRetentionPolicy"]["rule"]["maxDays"])
                for edge in data["projects"]["edges"]}
    return data["defaultProjectTraceRetentionPolicy"]["rule"]["maxDays"], projects


def run_playbook(*args: str) -> subprocess.CompletedProcess:
    inventory = os.environ.get("LLM_GATEWAY_INVENTORY")
    if not inventory:
        pytest.fail("LLM_GATEWAY_INVENTORY is not set: the inventory of the deployed stack (molecule sets it)")
    done = subprocess.run(["ansible-playbook", "-i", inventory, PLAYBOOK, *args], capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return done


def test_the_default_policy_keeps_traces_the_configured_days(http, urls):
    assert retention(http, urls)[0] == EXPECTED["default_days"]


def test_each_configured_project_keeps_its_own_days(http, urls):
    projects = retention(http, urls)[1]
    for project, days in EXPECTED["projects"].items():
        assert projects.get(project) == (f"llm-gateway {days} days", days), (project, projects)
    # Every other project (Phoenix makes one per new project name in a span) keeps the default policy.
    others = {name: policy for name, policy in projects.items() if name not in EXPECTED["projects"]}
    assert all(days == EXPECTED["default_days"] for _, days in others.values()), others


def test_a_changed_setting_reaches_the_running_phoenix(http, urls):
    changed = {"phoenix_trace_retention_days": 9, "phoenix_trace_retention_projects": {"llm-gateway-retention-probe": 2}}
    try:
        run_playbook("-e", json.dumps(changed))
        default_days, projects = retention(http, urls)
        assert default_days == 9
        assert projects["llm-gateway-retention-probe"] == ("llm-gateway 2 days", 2)
        # Projects no longer listed are back on the default policy.
        assert all(projects[name][1] == 9 for name in EXPECTED["projects"]), projects
    finally:
        run_playbook()
    assert retention(http, urls)[0] == EXPECTED["default_days"]
    test_each_configured_project_keeps_its_own_days(http, urls)
