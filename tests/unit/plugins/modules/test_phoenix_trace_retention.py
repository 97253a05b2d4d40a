"""phoenix_trace_retention against an in-memory Phoenix behind httpx.MockTransport (its GraphQL and REST answers
shaped like Phoenix 20.26.1's): the default policy's days and each project's own policy are set, a second run writes
nothing, a project dropped from the settings goes back to the default policy, check mode writes nothing."""

import json

import httpx
import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.llm_gateway.stack.plugins.modules import phoenix_trace_retention

KEY = "phx-admin-secret-abcdefghijklmnopqrstuvwxyz0"
DEFAULT_ID = "UHJvamVjdFRyYWNlUmV0ZW50aW9uUG9saWN5OjA="


class FakePhoenix:
    """Policies and projects as Phoenix keeps them; counts writes."""

    def __init__(self):
        self.policies = {DEFAULT_ID: {"name": "Default", "cron": "0 0 * * 0", "days": 30.0}}
        self.projects = {"default": DEFAULT_ID}
        self.writes = []
        self.up = True

    def state(self):
        def rule(days):
            return {"__typename": "TraceRetentionRuleMaxDays", "maxDays": days}
        default = self.policies[DEFAULT_ID]
        return {
            "defaultProjectTraceRetentionPolicy": {"id": DEFAULT_ID, "cronExpression": default["cron"],
                                                   "rule": rule(default["days"])},
            "projectTraceRetentionPolicies": {"edges": [
                {"node": {"id": pid, "name": p["name"], "rule": rule(p["days"])}} for pid, p in self.policies.items()]},
            "projects": {"edges": [{"node": {"id": "UHJvamVjdDo%d" % i, "name": name,
                                             "traceRetentionPolicy": {"id": pid}}}
                                   for i, (name, pid) in enumerate(self.projects.items())]},
        }

    def graphql(self, query, given):
        if query == phoenix_trace_retention.STATE_QUERY:
            return {"data": self.state()}
        self.writes.append(query.split("(")[1].split("{")[1].strip())
        if "createProjectTraceRetentionPolicy" in query:
            pid = "UHJvamVjdFRyYWNlUmV0ZW50aW9uUG9saWN5Oj%d" % len(self.policies)
            self.policies[pid] = {"name": given["name"], "cron": given["cronExpression"],
                                  "days": float(given["rule"]["maxDays"]["maxDays"])}
            return {"data": {"createProjectTraceRetentionPolicy": {"node": {"id": pid}}}}
        if "patchProjectTraceRetentionPolicy" in query:
            self.policies[given["id"]]["days"] = float(given["rule"]["maxDays"]["maxDays"])
            return {"data": {"patchProjectTraceRetentionPolicy": {"node": {"id": given["id"]}}}}
        if "deleteProjectTraceRetentionPolicy" in query:
            assert given["id"] != DEFAULT_ID
            del self.policies[given["id"]]
            self.projects = dict((n, DEFAULT_ID if p == given["id"] else p) for n, p in self.projects.items())
            return {"data": {"deleteProjectTraceRetentionPolicy": {"node": {"id": given["id"]}}}}
        return {"errors": [{"message": "unknown operation"}]}

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.up:
            raise httpx.ConnectError("connection refused")
        if request.url.path == "/healthz":
            return httpx.Response(200, text="OK")
        if request.headers.get("authorization") != "Bearer " + KEY:
            return httpx.Response(401, json={"detail": "Not authenticated"})
        body = json.loads(request.content) if request.content else {}
        if request.url.path == "/graphql":
            return httpx.Response(200, json=self.graphql(body["query"], body["variables"].get("input", {})))
        if request.url.path == "/v1/projects" and request.method == "POST":
            self.writes.append("createProject")
            self.projects[body["name"]] = DEFAULT_ID
            return httpx.Response(200, json={"data": {"id": "new", "name": body["name"]}})
        if request.url.path.endswith("/retention") and request.method == "PATCH":
            name = request.url.path.split("/")[3]
            assert name in self.projects, name
            self.writes.append("setProjectRetentionPolicy")
            self.projects[name] = body["policy_id"] or DEFAULT_ID
            return httpx.Response(200, json={"data": {"project_id": name, "policy_id": body["policy_id"]}})
        return httpx.Response(404)

    def days_of(self, project):
        return self.policies[self.projects[project]]["days"]


@pytest.fixture
def phoenix(monkeypatch):
    fake = FakePhoenix()
    monkeypatch.setattr(phoenix_trace_retention, "TRANSPORT", httpx.MockTransport(fake.handler))
    return fake


def run(capsys, check_mode=False, **args):
    params = dict(url="http://phoenix.test:6006", token=KEY, wait_timeout=0, default_days=30)
    params.update(args)
    if check_mode:
        params["_ansible_check_mode"] = True
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            phoenix_trace_retention.main()
    return json.loads(capsys.readouterr().out)


def test_the_default_policy_gets_the_days_given(phoenix, capsys):
    result = run(capsys, default_days=7)
    assert result["changed"] is True and result["default_days"] == 30
    assert phoenix.policies[DEFAULT_ID]["days"] == 7
    assert run(capsys, default_days=7)["changed"] is False


def test_each_project_gets_a_policy_of_its_days_created_if_missing(phoenix, capsys):
    result = run(capsys, projects={"default": 14, "evals": 365, "audit": 365})
    assert result["changed"] is True
    assert (phoenix.days_of("default"), phoenix.days_of("evals"), phoenix.days_of("audit")) == (14, 365, 365)
    assert phoenix.projects["evals"] == phoenix.projects["audit"], "projects of the same days share one policy"
    names = sorted(p["name"] for p in phoenix.policies.values())
    assert names == ["Default", "llm-gateway 14 days", "llm-gateway 365 days"]
    # The new policies run on the default policy's schedule.
    assert {p["cron"] for p in phoenix.policies.values()} == {"0 0 * * 0"}


def test_a_second_run_writes_nothing(phoenix, capsys):
    run(capsys, projects={"default": 14})
    phoenix.writes.clear()
    result = run(capsys, projects={"default": 14})
    assert result["changed"] is False and result["actions"] == [] and phoenix.writes == []
    assert result["projects"] == {"default": 14}


def test_a_project_dropped_from_the_settings_returns_to_the_default_policy(phoenix, capsys):
    run(capsys, projects={"default": 14, "evals": 365})
    result = run(capsys, projects={"evals": 365})
    assert result["changed"] is True
    assert phoenix.projects["default"] == DEFAULT_ID
    assert "llm-gateway 14 days" not in [p["name"] for p in phoenix.policies.values()], "an unused policy of ours stays"


def test_a_policy_edited_in_the_ui_is_put_back_and_one_of_other_names_is_left_alone(phoenix, capsys):
    run(capsys, projects={"default": 14})
    ours = phoenix.projects["default"]
    phoenix.policies[ours]["days"] = 90
    phoenix.policies["theirs"] = {"name": "kept by hand", "cron": "0 1 * * *", "days": 3}
    phoenix.projects["by-hand"] = "theirs"
    run(capsys, projects={"default": 14})
    assert phoenix.policies[ours]["days"] == 14
    assert phoenix.projects["by-hand"] == "theirs" and phoenix.policies["theirs"]["days"] == 3


def test_check_mode_reports_the_changes_and_writes_nothing(phoenix, capsys):
    result = run(capsys, check_mode=True, default_days=10, projects={"evals": 365})
    assert result["changed"] is True
    assert result["actions"] == ["default policy: 30.0 -> 10 days", "create policy llm-gateway 365 days",
                                 "create project evals", "project evals: -> llm-gateway 365 days"]
    assert phoenix.writes == [] and phoenix.policies[DEFAULT_ID]["days"] == 30


def test_check_mode_without_phoenix_warns_instead_of_failing(phoenix, capsys):
    phoenix.up = False
    result = run(capsys, check_mode=True)
    assert result["changed"] is True and "failed" not in result
    assert "retention policies would be checked" in json.dumps(result.get("warnings")), result


def test_a_refused_key_fails_with_a_message(phoenix, capsys):
    result = run(capsys, token="phx-not-a-key-abcdefghijklmnopqrstuvw")
    assert result["failed"] is True
    assert "refused the token (HTTP 401)" in result["msg"]
    assert "phx-not-a-key" not in json.dumps(result)


@pytest.mark.parametrize("projects", [{"a/b": 1}, {"evals": -1}, {"evals": "many"}])
def test_bad_settings_fail_before_any_request(phoenix, capsys, projects):
    phoenix.up = False  # a request would raise
    result = run(capsys, projects=projects)
    assert result["failed"] is True
    assert "project" in result["msg"]
