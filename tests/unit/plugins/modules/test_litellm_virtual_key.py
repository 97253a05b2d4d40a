"""litellm_virtual_key: validation and planning as pure functions, apply_steps with a recording client, and the
whole module against an in-memory LiteLLM behind httpx.MockTransport."""

import copy
import json

import httpx
import pytest

from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_client import LiteLLMClient, LiteLLMError
from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_keys import (
    ApplyError,
    PlanError,
    apply_steps,
    diff_of,
    drift,
    generate_body,
    key_name_of,
    plan_keys,
    result_of,
    token_of,
    validate_keys,
)
from ansible.module_utils.testing import patch_module_args
from ansible_collections.llm_gateway.stack.plugins.modules import litellm_virtual_key

SECRET_A = "sk-test-a-0123456789abcdefghijklmnopqrstuv"
SECRET_B = "sk-test-b-0123456789abcdefghijklmnopqrstuv"
SECRET_C = "sk-test-c-0123456789abcdefghijklmnopqrstuv"
MASTER = "sk-master-0123456789abcdefghijklmnopqrstuv"
URL = "http://litellm.test:4000"


def key(alias, secret=None, **kw):
    entry = dict(alias=alias, state="present", secret=secret, models=[], metadata={}, duration=None, max_budget=None,
                 budget_duration=None, rpm_limit=None, tpm_limit=None, max_parallel_requests=None, replace=False)
    entry.update(kw)
    return entry


def row(alias, secret, **kw):
    entry = dict(token=token_of(secret), key_name=key_name_of(secret), key_alias=alias, models=[], metadata={},
                 max_budget=None, budget_duration=None, rpm_limit=None, tpm_limit=None, max_parallel_requests=None,
                 spend=0.0, expires=None, blocked=None)
    entry.update(kw)
    return entry


# -- validate_keys --------------------------------------------------------------------------------------------


def test_valid_keys_have_no_errors():
    assert validate_keys([key("a", SECRET_A), key("b", SECRET_B), key("c", state="absent")]) == []


def test_duplicate_alias_is_an_error():
    errors = validate_keys([key("a", SECRET_A), key("a", SECRET_B)])
    assert errors == ["keys[1] (alias 'a'): duplicate alias, also given in keys[0]; each alias may appear once"]


def test_present_key_needs_a_secret_absent_does_not():
    errors = validate_keys([key("a"), key("b", state="absent")])
    assert len(errors) == 1
    assert errors[0].startswith("keys[0] (alias 'a'): secret is required when state is present")


@pytest.mark.parametrize("secret, fragment", [
    ("sk-short", "it has 8 characters)"),
    ("pk-0123456789abcdefghijklmnopqrstuvwxyz", "does not start with 'sk-'"),
])
def test_badly_formed_secret_is_an_error_that_does_not_echo_it(secret, fragment):
    errors = validate_keys([key("a", secret)])
    assert len(errors) == 1
    assert "must start with 'sk-' and be at least 32 characters long" in errors[0]
    assert fragment in errors[0]
    assert secret not in errors[0]


def test_the_same_secret_for_two_aliases_is_an_error():
    errors = validate_keys([key("a", SECRET_A), key("b", SECRET_A)])
    assert errors == ["keys[1] (alias 'b'): the same secret is given for alias 'a'; each key needs its own secret"]


def test_empty_alias_is_an_error():
    assert validate_keys([key("", SECRET_A)]) == ["keys[0]: alias must be a non-empty string"]


# -- drift / plan_keys ----------------------------------------------------------------------------------------


def test_drift_is_empty_when_row_matches():
    assert drift(row("a", SECRET_A, models=["m2", "m1"], metadata={"x": 1}),
                 key("a", SECRET_A, models=["m1", "m2"], metadata={"x": 1})) == {}


def test_drift_sends_only_drifted_fields_and_metadata_whole():
    current = row("a", SECRET_A, models=["m1"], metadata={"x": 1, "y": 2}, rpm_limit=10, max_budget=5.0)
    wanted = key("a", SECRET_A, models=["m1"], metadata={"x": 1}, max_budget=5)
    assert drift(current, wanted) == {"metadata": {"x": 1}, "rpm_limit": None}


def test_drift_in_models_sends_the_desired_list():
    assert drift(row("a", SECRET_A, models=["m1"]), key("a", SECRET_A, models=["m2", "m1"])) == {
        "models": ["m2", "m1"]}


def test_plan_create_unchanged_update_in_one_pass():
    rows = [row("b", SECRET_B), row("c", SECRET_C, models=["old"])]
    steps = plan_keys(rows, [key("a", SECRET_A), key("b", SECRET_B), key("c", SECRET_C, models=["new"])])
    assert [(s["alias"], s["action"]) for s in steps] == [("a", "created"), ("b", "unchanged"), ("c", "updated")]
    assert steps[2]["changes"] == {"models": ["new"]}
    assert steps[0]["token"] == token_of(SECRET_A)


def test_plan_alias_held_by_another_secret_fails_with_the_choices():
    with pytest.raises(PlanError) as info:
        plan_keys([row("a", SECRET_B)], [key("a", SECRET_A)])
    message = str(info.value)
    assert "alias 'a' is held in LiteLLM by another key (token %s..." % token_of(SECRET_B)[:12] in message
    assert "put the secret that LiteLLM holds" in message
    assert "replace: true" in message
    assert "state: absent" in message
    assert SECRET_A not in message and SECRET_B not in message


def test_plan_reports_every_conflict_at_once():
    rows = [row("a", SECRET_B), row("b", SECRET_A)]
    with pytest.raises(PlanError) as info:
        plan_keys(rows, [key("a", SECRET_C), key("c", "sk-test-d-0123456789abcdefghijklmnopqrstuv"),
                         key("b", "sk-test-e-0123456789abcdefghijklmnopqrstuv")])
    assert str(info.value).count("is held in LiteLLM by another key") == 2


def test_plan_replace_takes_the_alias_from_the_old_key():
    old = row("a", SECRET_B)
    steps = plan_keys([old], [key("a", SECRET_A, replace=True)])
    assert steps[0]["action"] == "replaced"
    assert steps[0]["old"] is old
    assert steps[0]["before"]["token"] == old["token"]
    assert steps[0]["after"]["token"] == token_of(SECRET_A)


def test_plan_replace_is_a_no_op_when_the_secret_already_holds_the_alias():
    steps = plan_keys([row("a", SECRET_A)], [key("a", SECRET_A, replace=True)])
    assert steps[0]["action"] == "unchanged"


def test_plan_secret_known_under_another_alias_moves_the_alias():
    steps = plan_keys([row("old-name", SECRET_A)], [key("a", SECRET_A)])
    assert steps[0]["action"] == "updated"
    assert steps[0]["changes"] == {"key_alias": "a"}


def test_plan_secret_known_elsewhere_and_alias_held_needs_replace():
    rows = [row("old-name", SECRET_A), row("a", SECRET_B)]
    with pytest.raises(PlanError):
        plan_keys(rows, [key("a", SECRET_A)])
    steps = plan_keys(rows, [key("a", SECRET_A, replace=True)])
    assert steps[0]["action"] == "replaced"
    assert steps[0]["takeover"] is True
    assert steps[0]["old"]["token"] == token_of(SECRET_B)


def test_plan_absent():
    steps = plan_keys([row("a", SECRET_A)], [key("a", state="absent"), key("gone", state="absent")])
    assert [(s["alias"], s["action"], s["token"]) for s in steps] == [
        ("a", "deleted", token_of(SECRET_A)), ("gone", "absent", None)]


def test_results_and_diff_hold_no_secret():
    rows = [row("b", SECRET_B, metadata={"env": "x"})]
    steps = plan_keys(rows, [key("a", SECRET_A), key("b", SECRET_B, metadata={"env": "y"}),
                             key("c", SECRET_C, state="absent")])
    text = json.dumps([result_of(s) for s in steps]) + json.dumps(diff_of(steps))
    for secret in (SECRET_A, SECRET_B, SECRET_C):
        assert secret not in text
    diff = diff_of(steps)
    assert set(diff["before"]) == {"b"}
    assert set(diff["after"]) == {"a", "b"}
    assert diff["before"]["b"]["metadata"] == {"env": "x"} and diff["after"]["b"]["metadata"] == {"env": "y"}
    assert [result_of(s)["changed"] for s in steps] == [True, True, False]


def test_generate_body_sends_only_given_limits():
    body = generate_body(key("a", SECRET_A, models=["m"], rpm_limit=5, duration="30d"))
    assert body == {"key": SECRET_A, "key_alias": "a", "models": ["m"], "metadata": {}, "rpm_limit": 5,
                    "duration": "30d"}


# -- apply_steps with a recording client ----------------------------------------------------------------------


class RecordingClient:
    def __init__(self, fail_on=None):
        self.calls = []
        self.fail_on = fail_on or {}

    def _call(self, name, payload):
        self.calls.append((name, payload))
        if self.fail_on.get(name) and len([c for c in self.calls if c[0] == name]) in self.fail_on[name]:
            raise LiteLLMError("LiteLLM API error: POST /key/%s answered HTTP 500: boom" % name)

    def generate_key(self, body):
        self._call("generate", body)
        return {"token": token_of(body["key"]), "key_name": key_name_of(body["key"])}

    def update_key(self, body):
        self._call("update", body)

    def delete_keys(self, tokens=None, aliases=None):
        self._call("delete", {"tokens": tokens, "aliases": aliases})
        return True


def test_apply_sends_the_minimum():
    rows = [row("b", SECRET_B), row("c", SECRET_C, rpm_limit=3), row("d", "sk-test-d-0123456789abcdefghijklmnopqrstuv")]
    steps = plan_keys(rows, [key("a", SECRET_A), key("b", SECRET_B), key("c", SECRET_C),
                             key("d", state="absent")])
    client = RecordingClient()
    results = apply_steps(client, steps, [])
    assert [c[0] for c in client.calls] == ["generate", "update", "delete"]
    assert client.calls[1][1] == {"key": token_of(SECRET_C), "rpm_limit": None}
    assert client.calls[2][1] == {"tokens": None, "aliases": ["d"]}
    assert [r["action"] for r in results] == ["created", "unchanged", "updated", "deleted"]


def test_apply_replace_moves_alias_aside_creates_then_deletes():
    old = row("a", SECRET_B)
    steps = plan_keys([old], [key("a", SECRET_A, replace=True)])
    client = RecordingClient()
    results = apply_steps(client, steps, [])
    assert client.calls == [
        ("update", {"key": old["token"], "key_alias": "a--replaced-" + old["token"][:12]}),
        ("generate", generate_body(key("a", SECRET_A))),
        ("delete", {"tokens": [old["token"]], "aliases": None}),
    ]
    assert results == [{"alias": "a", "state": "present", "action": "replaced", "changed": True,
                        "token": token_of(SECRET_A), "key_name": key_name_of(SECRET_A)}]


def test_apply_replace_takeover_deletes_the_holder_then_moves_the_alias():
    rows = [row("old-name", SECRET_A), row("a", SECRET_B)]
    client = RecordingClient()
    apply_steps(client, plan_keys(rows, [key("a", SECRET_A, replace=True)]), [])
    assert client.calls == [("delete", {"tokens": [token_of(SECRET_B)], "aliases": None}),
                            ("update", {"key": token_of(SECRET_A), "key_alias": "a"})]


def test_apply_replace_gives_the_alias_back_when_create_fails():
    old = row("a", SECRET_B)
    client = RecordingClient(fail_on={"generate": {1}})
    results = []
    with pytest.raises(ApplyError, match="key 'a' \\(replaced\\) failed: .*boom"):
        apply_steps(client, plan_keys([old], [key("a", SECRET_A, replace=True)]), results)
    assert client.calls[-1] == ("update", {"key": old["token"], "key_alias": "a"})
    assert results == []


def test_apply_replace_records_the_new_key_when_deleting_the_old_fails():
    old = row("a", SECRET_B)
    client = RecordingClient(fail_on={"delete": {1}})
    results = []
    with pytest.raises(ApplyError, match="new key for alias 'a' was created, but the old key") as info:
        apply_steps(client, plan_keys([old], [key("a", SECRET_A, replace=True)]), results)
    assert "remove it with state: absent for alias 'a--replaced-%s'" % old["token"][:12] in str(info.value)
    assert [r["action"] for r in results] == ["replaced"]


def test_apply_failure_midway_keeps_results_done_so_far():
    client = RecordingClient(fail_on={"generate": {2}})
    results = []
    with pytest.raises(ApplyError) as info:
        apply_steps(client, plan_keys([], [key("a", SECRET_A), key("b", SECRET_B), key("c", SECRET_C)]), results)
    assert "key 'b' (created) failed" in str(info.value)
    assert [r["alias"] for r in results] == ["a"]


# -- the module against an in-memory LiteLLM ------------------------------------------------------------------


class FakeLiteLLM:
    """Just enough of LiteLLM's key API, with its uniqueness rule on aliases and its error shapes."""

    def __init__(self, master=MASTER, ready=True):
        self.master = master
        self.ready = ready
        self.rows = {}
        self.requests = []
        self.fail = {}  # path -> (status, message) for the next request to that path

    def add(self, alias, secret, **kw):
        entry = row(alias, secret, **kw)
        self.rows[entry["token"]] = entry

    def _error(self, status, message):
        return httpx.Response(status, json={"error": {"message": message, "type": "x", "param": None,
                                                      "code": str(status)}})

    def __call__(self, request):
        path = request.url.path
        self.requests.append((request.method, path))
        if path == "/health/readiness":
            return httpx.Response(200 if self.ready else 503,
                                  json={"status": "healthy", "db": "connected"} if self.ready else {"detail": "x"})
        if request.headers.get("authorization") != "Bearer " + self.master:
            return self._error(401, "Authentication Error, Invalid API key provided.")
        if path in self.fail:
            return self._error(*self.fail.pop(path))
        if not self.ready:
            return self._error(500, "No connected db.")
        body = json.loads(request.content) if request.content else {}
        if path == "/key/list":
            return httpx.Response(200, json={"keys": copy.deepcopy(list(self.rows.values())),
                                             "total_count": len(self.rows), "current_page": 1, "total_pages": 1})
        if path == "/key/generate":
            if any(r["key_alias"] == body.get("key_alias") for r in self.rows.values()):
                return self._error(400, "Key with alias '%s' already exists." % body["key_alias"])
            fields = dict((k, v) for k, v in body.items() if k not in ("key", "key_alias", "duration"))
            self.add(body["key_alias"], body["key"], **fields)
            return httpx.Response(200, json={"key": body["key"], "token_id": token_of(body["key"]),
                                             "key_name": key_name_of(body["key"]), "key_alias": body["key_alias"]})
        if path == "/key/update":
            entry = self.rows.get(body.pop("key"))
            if entry is None:
                return self._error(404, "Key not found.")
            entry.update(("key_alias" if k == "key_alias" else k, v) for k, v in body.items())
            return httpx.Response(200, json=entry)
        if path == "/key/delete":
            if "keys" in body:
                gone = [t for t in body["keys"] if t in self.rows]
            else:
                gone = [t for t, r in self.rows.items() if r["key_alias"] in body["key_aliases"]]
            if not gone:
                return self._error(404, "{'error': 'No keys found'}")
            for token in gone:
                del self.rows[token]
            return httpx.Response(200, json={"deleted_keys": gone})
        return self._error(404, "Not Found")

    def writes(self):
        return [r for r in self.requests if r[0] != "GET"]


@pytest.fixture(scope="module")
def module():
    return litellm_virtual_key


@pytest.fixture
def run(module, monkeypatch, capsys):
    clock = {"now": 0.0}

    def sleep(seconds):
        clock["now"] += seconds

    def runner(fake, keys, check=False, diff=False, **params):
        def client_factory(*args, **kwargs):
            return LiteLLMClient(*args, transport=httpx.MockTransport(fake), sleep=sleep,
                                 monotonic=lambda: clock["now"], **kwargs)

        monkeypatch.setattr(module, "LiteLLMClient", client_factory)
        args = dict(url=URL, master_key=MASTER, keys=keys, _ansible_check_mode=check, _ansible_diff=diff)
        args.update(params)
        with patch_module_args(args), pytest.raises(SystemExit):
            module.main()
        return json.loads(capsys.readouterr().out)

    return runner


def k(alias, secret=None, **kw):
    entry = dict(alias=alias, **kw)
    if secret:
        entry["secret"] = secret
    return entry


def test_module_create_then_noop(run):
    fake = FakeLiteLLM()
    first = run(fake, [k("a", SECRET_A, models=["m1"], metadata={"env": "dev"})])
    assert first["changed"] is True
    assert first["virtual_keys"] == [{"alias": "a", "state": "present", "action": "created", "changed": True,
                                      "token": token_of(SECRET_A), "key_name": key_name_of(SECRET_A)}]
    assert first["requests"] == {"read": 1, "write": 1}
    fake.requests.clear()
    second = run(fake, [k("a", SECRET_A, models=["m1"], metadata={"env": "dev"})])
    assert second["changed"] is False
    assert second["virtual_keys"][0]["action"] == "unchanged"
    assert second["requests"] == {"read": 1, "write": 0}
    assert fake.requests == [("GET", "/key/list")]
    assert SECRET_A not in json.dumps(first) + json.dumps(second)


def test_module_many_keys_noop_sends_two_requests(run):
    fake = FakeLiteLLM()
    secrets = ["sk-bench-%03d-0123456789abcdefghijklmnopqrst" % i for i in range(60)]
    for i, secret in enumerate(secrets):
        fake.add("k%03d" % i, secret)
    result = run(fake, [k("k%03d" % i, s) for i, s in enumerate(secrets)])
    assert result["changed"] is False
    assert result["requests"] == {"read": 1, "write": 0}


def test_module_updates_only_drift(run):
    fake = FakeLiteLLM()
    fake.add("a", SECRET_A, models=["m1"], metadata={"env": "dev", "extra": 1})
    result = run(fake, [k("a", SECRET_A, models=["m1"], metadata={"env": "dev"})], diff=True)
    assert result["virtual_keys"][0]["action"] == "updated"
    assert fake.writes() == [("POST", "/key/update")]
    assert fake.rows[token_of(SECRET_A)]["metadata"] == {"env": "dev"}
    assert result["diff"]["before"]["a"]["metadata"] == {"env": "dev", "extra": 1}
    assert result["diff"]["after"]["a"]["metadata"] == {"env": "dev"}


def test_module_check_mode_sends_no_write(run):
    fake = FakeLiteLLM()
    fake.add("b", SECRET_B, models=["x"])
    fake.add("gone", SECRET_C)
    result = run(fake, [k("a", SECRET_A), k("b", SECRET_B), k("gone", state="absent")], check=True)
    assert [r["action"] for r in result["virtual_keys"]] == ["created", "updated", "deleted"]
    assert result["changed"] is True
    assert fake.writes() == []
    assert result["requests"]["write"] == 0


def test_module_check_mode_without_litellm_warns_and_plans_creates(run):
    def refused(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    result = run(refused, [k("a", SECRET_A), k("b", state="absent")], check=True)
    assert "failed" not in result or result["failed"] is False
    assert [r["action"] for r in result["virtual_keys"]] == ["created", "absent"]
    # ansible-core 2.19+ returns warnings as WarningSummary objects; older ones as strings.
    assert "cannot be reached" in json.dumps(result["warnings"])
    assert result["requests"] == {"read": 1, "write": 0}


def test_module_not_ready_fails_with_url_and_last_status(run):
    fake = FakeLiteLLM(ready=False)
    result = run(fake, [k("a", SECRET_A)], wait_timeout=5)
    assert result["failed"] is True
    assert result["msg"].startswith("LiteLLM at %s was not ready" % URL)
    assert "within 5 s" in result["msg"] and "HTTP 503" in result["msg"]
    assert fake.requests[0] == ("GET", "/key/list")
    assert fake.requests[1:] == [("GET", "/health/readiness")] * 11  # t = 0, 0.5, ..., 5


def test_module_waits_for_readiness_when_the_list_fails_then_reads_again(run):
    fake = FakeLiteLLM()
    fake.add("a", SECRET_A)
    fake.fail["/key/list"] = (500, "No connected db.")
    result = run(fake, [k("a", SECRET_A)])
    assert result["changed"] is False
    assert fake.requests == [("GET", "/key/list"), ("GET", "/health/readiness"), ("GET", "/key/list")]
    assert result["requests"] == {"read": 3, "write": 0}


def test_module_client_error_on_the_list_fails_without_waiting(run):
    fake = FakeLiteLLM()
    fake.fail["/key/list"] = (404, "Not Found")
    result = run(fake, [k("a", SECRET_A)])
    assert result["failed"] is True
    assert result["msg"] == "LiteLLM API error: GET %s/key/list answered HTTP 404: Not Found" % URL
    assert fake.requests == [("GET", "/key/list")]


def test_module_alias_conflict_fails_before_any_write(run):
    fake = FakeLiteLLM()
    fake.add("a", SECRET_B)
    result = run(fake, [k("new", SECRET_C), k("a", SECRET_A)])
    assert result["failed"] is True
    assert "alias 'a' is held in LiteLLM by another key" in result["msg"]
    assert fake.writes() == []
    assert result["virtual_keys"] == []


def test_module_replace_rotates(run):
    fake = FakeLiteLLM()
    fake.add("a", SECRET_B, models=["m"])
    result = run(fake, [k("a", SECRET_A, models=["m"], replace=True)])
    assert result["virtual_keys"][0]["action"] == "replaced"
    assert list(fake.rows) == [token_of(SECRET_A)]
    assert fake.rows[token_of(SECRET_A)]["key_alias"] == "a"


def test_module_absent_and_absent_again(run):
    fake = FakeLiteLLM()
    fake.add("a", SECRET_A)
    first = run(fake, [k("a", state="absent")])
    assert (first["changed"], first["virtual_keys"][0]["action"]) == (True, "deleted")
    second = run(fake, [k("a", state="absent")])
    assert (second["changed"], second["virtual_keys"][0]["action"]) == (False, "absent")
    assert second["requests"]["write"] == 0


def test_module_bad_master_key(run):
    result = run(FakeLiteLLM(master="sk-other"), [k("a", SECRET_A)])
    assert result["failed"] is True
    assert result["msg"].startswith("LiteLLM rejected the master key (HTTP 401) on GET %s/key/list" % URL)
    assert MASTER not in json.dumps(result)


def test_module_write_failure_keeps_keys_done_so_far(run):
    fake = FakeLiteLLM()
    fake.add("b", SECRET_B, models=["old"])
    fake.fail["/key/update"] = (500, "database exploded")
    result = run(fake, [k("a", SECRET_A), k("b", SECRET_B, models=["new"])])
    assert result["failed"] is True
    assert "key 'b' (updated) failed" in result["msg"]
    assert "POST %s/key/update answered HTTP 500: database exploded" % URL in result["msg"]
    assert [(r["alias"], r["action"]) for r in result["virtual_keys"]] == [("a", "created")]
    assert result["requests"] == {"read": 1, "write": 2}


def test_module_argument_errors_fail_before_any_request(run):
    fake = FakeLiteLLM()
    result = run(fake, [k("a", SECRET_A), k("a", SECRET_B), k("c", "sk-short")])
    assert result["failed"] is True
    assert "duplicate alias" in result["msg"] and "keys[2] (alias 'c'): secret must start with 'sk-'" in result["msg"]
    assert fake.requests == []
    missing = run(fake, [k("a")])
    assert missing["failed"] is True
    assert "secret" in missing["msg"] and "state is present" in missing["msg"]
    assert fake.requests == []
