#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: phoenix_trace_retention
short_description: Ensure how many days Arize Phoenix keeps traces, by default and per project
description:
  - Sets the rule of Phoenix's default trace retention policy (every project without a policy of its own uses it) to
    keep traces O(default_days) days, and gives each project of O(projects) a policy that keeps its traces the days
    given there. Phoenix's C(PHOENIX_DEFAULT_RETENTION_POLICY_DAYS) sets the default policy only on an empty database;
    this module applies a changed value on a running Phoenix too.
  - A project's policy is named C(<name_prefix> <N> days) and shared by the projects that keep traces N days. A project
    not in Phoenix yet is created (Phoenix would otherwise create it with its first span, under the default policy).
  - A project that had one of these policies and is no longer in O(projects) goes back to the default policy; a policy
    of these names left without a project is deleted. Policies of other names (made in Phoenix's UI) are left alone,
    except that a project in O(projects) is moved to the module's policy.
  - Reads with one GraphQL query; writes only what differs (GraphQL C(createProjectTraceRetentionPolicy),
    C(patchProjectTraceRetentionPolicy), C(deleteProjectTraceRetentionPolicy); REST C(POST /v1/projects) and
    C(PATCH /v1/projects/{name}/retention)). Needs Phoenix's admin secret or an admin's API key (read from Phoenix
    20.26.1's source).
  - When Phoenix gives no answer or a server error, waits at most O(wait_timeout) seconds for C(/healthz) to answer.
version_added: "2.2.0"
author:
  - llm-gateway-ansible contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - httpx (Python library) on the host that runs the module
attributes:
  check_mode:
    support: full
    details:
      - Reads, and reports what it would change without writing.
      - When Phoenix cannot be reached at all (not started yet), warns and reports a change.
  diff_mode:
    support: full
    details:
      - The days of the default policy and of each project, before and after.
  platform:
    support: full
    platforms: posix
options:
  url:
    description: Base URL of Phoenix (its UI and API), for example C(http://127.0.0.1:6006).
    type: str
    required: true
  token:
    description:
      - Sent as a bearer token - Phoenix's C(PHOENIX_ADMIN_SECRET), or an API key of a user with the admin role.
        The system API key will not do - Phoenix's GraphQL API lets only admins change retention policies, and
        counts the system user as none.
      - Empty sends none (Phoenix without authentication).
    type: str
    default: ""
  default_days:
    description: Days the default policy keeps traces; V(0) keeps them forever.
    type: int
    required: true
  projects:
    description:
      - Days each named project keeps its traces (V(0) forever), in place of the default policy.
      - A name may not hold C(/), C(?) or C(#) (Phoenix's REST API finds a project by its name in the path).
    type: dict
    default: {}
  name_prefix:
    description: Start of the names of the policies this module makes (and may delete when unused).
    type: str
    default: llm-gateway
  request_timeout:
    description: Timeout in seconds of each HTTP request.
    type: float
    default: 30
  wait_timeout:
    description: Seconds to wait for Phoenix's C(/healthz) when it does not answer; V(0) probes once.
    type: int
    default: 180
notes:
  - A policy this module makes runs on the default policy's schedule (its cron expression).
seealso:
  - name: Phoenix data retention
    description: Retention policies and their rules.
    link: https://arize.com/docs/phoenix/settings/data-retention
"""

EXAMPLES = r"""
- name: Keep traces 30 days, those of the project "evals" a year
  llm_gateway.stack.phoenix_trace_retention:
    url: http://127.0.0.1:6006
    token: "{{ llm_gateway_secrets_values.phoenix_admin_secret }}"
    default_days: 30
    projects:
      evals: 365
"""

RETURN = r"""
default_days:
  description: Days the default policy keeps traces, as found before any change.
  returned: success
  type: float
  sample: 30
projects:
  description: Days each project of O(projects) kept its traces before any change (the default policy's when it had none).
  returned: success
  type: dict
  sample: {evals: 30}
actions:
  description: What was (or in check mode would be) written, one line each.
  returned: success
  type: list
  elements: str
  sample: ["default policy: 14 days -> 30 days", "create policy llm-gateway 365 days", "project evals: -> llm-gateway 365 days"]
"""

from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx
from ansible_collections.llm_gateway.stack.plugins.module_utils._phoenix_client import PhoenixError, wait_ready
from ansible_collections.llm_gateway.stack.plugins.module_utils._tls_verify import tls_verify


# A seam for the unit tests (httpx.MockTransport).
TRANSPORT = None

RULE_FIELDS = "rule { __typename ... on TraceRetentionRuleMaxDays { maxDays } }"
STATE_QUERY = """{
  defaultProjectTraceRetentionPolicy { id cronExpression %(rule)s }
  projectTraceRetentionPolicies(first: 1000) { edges { node { id name %(rule)s } } }
  projects(first: 1000) { edges { node { id name traceRetentionPolicy { id } } } }
}""" % {"rule": RULE_FIELDS}
CREATE = ("mutation($input: CreateProjectTraceRetentionPolicyInput!) "
          "{ createProjectTraceRetentionPolicy(input: $input) { node { id } } }")
PATCH = ("mutation($input: PatchProjectTraceRetentionPolicyInput!) "
         "{ patchProjectTraceRetentionPolicy(input: $input) { node { id } } }")
DELETE = ("mutation($input: DeleteProjectTraceRetentionPolicyInput!) "
          "{ deleteProjectTraceRetentionPolicy(input: $input) { node { id } } }")


def _days(policy):
    """The days a policy keeps traces, or None when its rule is not a plain number of days (e.g. a trace count)."""
    rule = policy.get("rule") or {}
    return float(rule["maxDays"]) if rule.get("__typename") == "TraceRetentionRuleMaxDays" else None


def _days_rule(days):
    return {"maxDays": {"maxDays": days}}


class Phoenix(object):
    def __init__(self, client):
        self.client = client

    def graphql(self, query, variables=None):
        response = self.client.post("/graphql", json={"query": query, "variables": variables or {}})
        if response.status_code in (401, 403):
            raise PhoenixError("Phoenix refused the token (HTTP %d): give its admin secret or an admin's API key"
                               % response.status_code)
        body = response.json() if response.status_code == 200 else {}
        if response.status_code != 200 or body.get("errors"):
            raise PhoenixError("GraphQL answered HTTP %d: %s"
                               % (response.status_code, str(body.get("errors") or response.text)[:300]))
        return body["data"]

    def rest(self, method, path, payload):
        response = self.client.request(method, path, json=payload)
        if response.status_code not in (200, 201):
            raise PhoenixError("%s %s answered HTTP %d: %s" % (method, path, response.status_code, response.text[:300]))
        return response.json().get("data") or {}


def _index(state):
    """Phoenix's answer to STATE_QUERY as (the default policy, the other policies, the projects by name)."""
    policies = [edge["node"] for edge in state["projectTraceRetentionPolicies"]["edges"]]
    projects = dict((edge["node"]["name"], edge["node"]) for edge in state["projects"]["edges"])
    return state["defaultProjectTraceRetentionPolicy"], policies, projects


def plan(state, params):
    """What to write, from one read of Phoenix: a list of (description, write) where write(phoenix) does it."""
    default, policies, projects = _index(state)
    ours = dict((p["name"], p) for p in policies if p["name"].startswith(params["name_prefix"] + " "))
    steps = []

    if _days(default) != params["default_days"]:
        steps.append(("default policy: %s -> %d days" % (_days(default), params["default_days"]),
                      lambda ph: ph.graphql(PATCH, {"input": {"id": default["id"],
                                                              "rule": _days_rule(params["default_days"])}})))

    def name_of(days):
        return "%s %d days" % (params["name_prefix"], days)

    # The policy ids of names created in this run are only known once created: resolved when the step runs.
    created = {}

    def policy_id(name):
        return ours[name]["id"] if name in ours else created[name]

    def create_policy(phoenix, name, days):
        answer = phoenix.graphql(CREATE, {"input": {"name": name, "cronExpression": default["cronExpression"],
                                                    "rule": _days_rule(days)}})
        created[name] = answer["createProjectTraceRetentionPolicy"]["node"]["id"]

    for days in sorted(set(params["projects"].values())):
        name = name_of(days)
        if name not in ours:
            steps.append(("create policy " + name, lambda ph, name=name, days=days: create_policy(ph, name, days)))
        elif _days(ours[name]) != days:
            steps.append(("policy %s: rule back to %d days" % (name, days),
                          lambda ph, name=name, days=days: ph.graphql(
                              PATCH, {"input": {"id": ours[name]["id"], "rule": _days_rule(days)}})))

    for project, days in sorted(params["projects"].items()):
        name = name_of(days)
        if project not in projects:
            steps.append(("create project " + project, lambda ph, project=project: ph.rest(
                "POST", "/v1/projects", {"name": project})))
        current = (projects.get(project, {}).get("traceRetentionPolicy") or {}).get("id")
        if project not in projects or name not in ours or current != ours[name]["id"]:
            steps.append(("project %s: -> %s" % (project, name), lambda ph, project=project, name=name: ph.rest(
                "PATCH", "/v1/projects/%s/retention" % quote(project), {"policy_id": policy_id(name)})))

    wanted = set(name_of(days) for days in params["projects"].values())
    our_ids = set(p["id"] for p in ours.values())
    for project, node in sorted(projects.items()):
        current = (node.get("traceRetentionPolicy") or {}).get("id")
        if project not in params["projects"] and current in our_ids:
            steps.append(("project %s: -> default policy" % project, lambda ph, project=project: ph.rest(
                "PATCH", "/v1/projects/%s/retention" % quote(project), {"policy_id": None})))
    for name in sorted(set(ours) - wanted):
        steps.append(("delete policy " + name, lambda ph, name=name: ph.graphql(
            DELETE, {"input": {"id": ours[name]["id"]}})))
    return steps


def found(state, params):
    """The days found before any change: the default policy's and each wanted project's."""
    default, policies, projects = _index(state)
    default_days = _days(default)
    days_of_policy = dict((policy["id"], _days(policy)) for policy in policies)
    per_project = {}
    for project in params["projects"]:
        policy = (projects.get(project, {}).get("traceRetentionPolicy") or {}).get("id")
        per_project[project] = days_of_policy.get(policy, default_days) if policy is not None else default_days
    return default_days, per_project


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            token=dict(type="str", default="", no_log=True),
            default_days=dict(type="int", required=True),
            projects=dict(type="dict", default={}),
            name_prefix=dict(type="str", default="llm-gateway"),
            request_timeout=dict(type="float", default=30),
            wait_timeout=dict(type="int", default=180),
        ),
        supports_check_mode=True,
    )
    if httpx is None:
        module.fail_json(msg=missing_required_lib("httpx"))
    params = module.params
    try:
        params["projects"] = dict((str(name), int(days)) for name, days in params["projects"].items())
    except (TypeError, ValueError):
        module.fail_json(msg="projects must map project names to whole numbers of days, got %r" % params["projects"])
    negative = [name for name, days in params["projects"].items() if days < 0]
    if params["default_days"] < 0 or negative:
        module.fail_json(msg="days must be 0 (keep forever) or more: default_days %d, projects %s"
                         % (params["default_days"], negative))
    unusable = [name for name in params["projects"] if not name.strip() or any(c in name for c in "/?#")]
    if unusable:
        module.fail_json(msg="project names must not be empty nor hold /, ? or #: %s" % unusable)
    try:
        headers = {"Authorization": "Bearer " + params["token"]} if params["token"] else {}
        with httpx.Client(base_url=params["url"].rstrip("/"), timeout=params["request_timeout"], headers=headers,
                          verify=tls_verify(params["url"]), transport=TRANSPORT) as client:
            phoenix = Phoenix(client)
            try:
                # Check mode probes once: a Phoenix not started yet is no error there.
                wait_ready(client, 0 if module.check_mode else params["wait_timeout"])
            except PhoenixError as exc:
                if not module.check_mode:
                    raise
                module.warn("%s: the retention policies would be checked, and set" % exc)
                module.exit_json(changed=True, actions=[], default_days=None, projects={})
            state = phoenix.graphql(STATE_QUERY)
            steps = plan(state, params)
            if not module.check_mode:
                for step in steps:
                    step[1](phoenix)
    except (PhoenixError, httpx.HTTPError) as exc:
        module.fail_json(msg="%s (url: %s)" % (exc, params["url"]))
    default_days, per_project = found(state, params)
    module.exit_json(
        changed=bool(steps), default_days=default_days, projects=per_project,
        actions=[step[0] for step in steps],
        diff={"before": {"default_days": default_days, "projects": per_project},
              "after": {"default_days": params["default_days"], "projects": params["projects"]}})


if __name__ == "__main__":
    main()
