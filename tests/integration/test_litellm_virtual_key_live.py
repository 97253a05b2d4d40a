"""litellm_virtual_key against a real LiteLLM proxy on real PostgreSQL, run through ansible-playbook."""

import hashlib
import json
import secrets
import socket

import pytest
from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_client import READINESS_POLL_INTERVAL


def token_of(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret():
    return "sk-itest-" + secrets.token_urlsafe(32)


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def assert_ok(run):
    assert not run.get("failed"), "module failed: %s" % run.get("msg")


def test_create_then_noop_rerun(run_module, api, proxy, alias_prefix):
    a, b = alias_prefix + "a", alias_prefix + "b"
    sa, sb = new_secret(), new_secret()
    keys = [{"alias": a, "secret": sa, "models": [proxy.model], "metadata": {"environment": "dev", "n": 1}},
            {"alias": b, "secret": sb, "metadata": {"environment": "eval"}, "rpm_limit": 100}]

    first = run_module(keys)
    assert_ok(first)
    assert first["changed"] is True
    assert first.actions() == [(a, "created"), (b, "created")]
    assert [k["token"] for k in first["virtual_keys"]] == [token_of(sa), token_of(sb)]
    assert first["virtual_keys"][0]["key_name"] == "sk-..." + sa[-4:]
    assert first["requests"]["write"] == 2

    row_a, row_b = api.row(a), api.row(b)
    assert row_a["token"] == token_of(sa)
    assert row_a["models"] == [proxy.model]
    assert row_a["metadata"] == {"environment": "dev", "n": 1}
    assert row_b["rpm_limit"] == 100 and row_b["models"] == []
    assert api.chat_status(sa) == 200
    assert api.chat_status(sb) == 200

    second = run_module(keys)
    assert_ok(second)
    assert second["changed"] is False
    assert second.actions() == [(a, "unchanged"), (b, "unchanged")]
    assert second["requests"]["write"] == 0
    assert second["requests"]["read"] <= 2  # one readiness probe and one /key/list


def test_drift_is_updated(run_module, api, proxy, alias_prefix):
    a, b = alias_prefix + "a", alias_prefix + "b"
    sa, sb = new_secret(), new_secret()
    keys = [{"alias": a, "secret": sa, "models": [proxy.model], "metadata": {"environment": "dev"}},
            {"alias": b, "secret": sb, "metadata": {"environment": "eval"}}]
    assert_ok(run_module(keys))

    api.update(key=token_of(sa), models=["itest-model-2"], metadata={"environment": "tampered", "extra": True})
    api.update(key=token_of(sb), rpm_limit=7)
    assert api.row(a)["models"] == ["itest-model-2"]

    fixed = run_module(keys, diff=True)
    assert_ok(fixed)
    assert fixed.actions() == [(a, "updated"), (b, "updated")]
    assert fixed["requests"]["write"] == 2
    row_a = api.row(a)
    assert row_a["models"] == [proxy.model]
    assert row_a["metadata"] == {"environment": "dev"}
    assert api.row(b)["rpm_limit"] is None
    assert "tampered" in fixed.stdout  # the diff shows what was found

    again = run_module(keys)
    assert (again["changed"], again["requests"]["write"]) == (False, 0)


def test_deleted_out_of_band_is_recreated_with_the_same_secret(run_module, api, proxy, alias_prefix):
    a = alias_prefix + "a"
    sa = new_secret()
    keys = [{"alias": a, "secret": sa, "models": [proxy.model]}]
    assert_ok(run_module(keys))
    api.delete(a)
    assert api.rows(a) == []
    assert api.chat_status(sa) == 401

    recreated = run_module(keys)
    assert_ok(recreated)
    assert recreated.actions() == [(a, "created")]
    assert api.row(a)["token"] == token_of(sa)
    assert api.chat_status(sa) == 200


def test_absent_then_absent_again(run_module, api, alias_prefix):
    a, keep = alias_prefix + "a", alias_prefix + "keep"
    sa, sk = new_secret(), new_secret()
    assert_ok(run_module([{"alias": a, "secret": sa}, {"alias": keep, "secret": sk}]))

    gone = run_module([{"alias": a, "state": "absent"}])
    assert_ok(gone)
    assert gone["changed"] is True
    assert gone["virtual_keys"] == [{"alias": a, "state": "absent", "action": "deleted", "changed": True,
                             "token": token_of(sa), "key_name": "sk-..." + sa[-4:]}]
    assert api.rows(a) == []
    assert api.chat_status(sa) == 401
    assert api.row(keep)["token"] == token_of(sk)  # keys not listed are left alone

    again = run_module([{"alias": a, "state": "absent"}])
    assert_ok(again)
    assert again["changed"] is False
    assert again.actions() == [(a, "absent")]
    assert again["requests"]["write"] == 0


def test_alias_held_by_another_secret_is_a_clear_error(run_module, api, alias_prefix):
    a, other = alias_prefix + "a", alias_prefix + "other"
    held, given, other_secret = new_secret(), new_secret(), new_secret()
    assert_ok(run_module([{"alias": a, "secret": held}]))

    refused = run_module([{"alias": other, "secret": other_secret}, {"alias": a, "secret": given}])
    assert refused["failed"] is True
    assert refused.returncode == 0  # ignore_errors in the playbook; the failure is in the result
    msg = refused["msg"]
    assert "alias '%s' is held in LiteLLM by another key (token %s..." % (a, token_of(held)[:12]) in msg
    assert "put the secret that LiteLLM holds for this alias into the vault" in msg
    assert "replace: true" in msg and "state: absent" in msg
    assert refused["requests"]["write"] == 0  # nothing was written, not even the unrelated new key
    assert api.rows(other) == []
    assert api.row(a)["token"] == token_of(held)
    for secret in (held, given, other_secret):
        assert secret not in refused.stdout + json.dumps(refused.result)


def test_replace_rotates_and_keeps_the_alias(run_module, api, proxy, alias_prefix):
    a = alias_prefix + "a"
    old, new = new_secret(), new_secret()
    keys_old = [{"alias": a, "secret": old, "models": [proxy.model], "metadata": {"environment": "dev"}}]
    assert_ok(run_module(keys_old))
    assert api.chat_status(old) == 200

    keys_new = [dict(keys_old[0], secret=new, replace=True)]
    rotated = run_module(keys_new)
    assert_ok(rotated)
    assert rotated.actions() == [(a, "replaced")]
    assert rotated["virtual_keys"][0]["token"] == token_of(new)
    row = api.row(a)
    assert row["token"] == token_of(new)
    assert row["models"] == [proxy.model] and row["metadata"] == {"environment": "dev"}
    assert api.chat_status(new) == 200
    assert api.chat_status(old) == 401
    assert not [x for x in api.all_aliases() if x and x.startswith(a + "--replaced-")]

    again = run_module(keys_new)
    assert (again["changed"], again.actions(), again["requests"]["write"]) == (False, [(a, "unchanged")], 0)


def test_check_mode_writes_nothing(run_module, api, proxy, alias_prefix):
    a, b = alias_prefix + "a", alias_prefix + "b"
    sa, sb = new_secret(), new_secret()
    assert_ok(run_module([{"alias": b, "secret": sb, "models": [proxy.model]}]))

    planned = run_module([{"alias": a, "secret": sa}, {"alias": b, "secret": sb, "models": []}], check=True,
                         diff=True)
    assert_ok(planned)
    assert planned["changed"] is True
    assert planned.actions() == [(a, "created"), (b, "updated")]
    assert planned["requests"]["write"] == 0
    assert api.rows(a) == []
    assert api.chat_status(sa) == 401
    assert api.row(b)["models"] == [proxy.model]

    gone = run_module([{"alias": b, "state": "absent"}], check=True)
    assert gone.actions() == [(b, "deleted")]
    assert api.row(b)["token"] == token_of(sb)


def test_check_mode_without_litellm_warns_and_reports_creates(run_module, alias_prefix):
    url = "http://127.0.0.1:%d" % closed_port()
    planned = run_module([{"alias": alias_prefix + "a", "secret": new_secret()}], check=True, url=url)
    assert_ok(planned)
    assert planned.returncode == 0
    assert planned.actions() == [(alias_prefix + "a", "created")]
    assert "cannot be reached" in planned.stdout + planned.stderr


def test_bad_master_key_is_a_clear_error(run_module, api, alias_prefix):
    wrong = "sk-wrong-master-" + secrets.token_urlsafe(24)
    refused = run_module([{"alias": alias_prefix + "a", "secret": new_secret()}], master_key=wrong)
    assert refused["failed"] is True
    assert refused["msg"].startswith("LiteLLM rejected the master key (HTTP 401) on GET ")
    assert "/key/list" in refused["msg"]
    assert wrong not in refused.stdout
    assert api.rows(alias_prefix + "a") == []


def test_litellm_down_fails_within_wait_timeout(run_module, alias_prefix):
    url = "http://127.0.0.1:%d" % closed_port()
    down = run_module([{"alias": alias_prefix + "a", "secret": new_secret()}], url=url, wait_timeout=6)
    assert down["failed"] is True
    assert down["msg"].startswith("LiteLLM at %s was not ready" % url)
    assert "within 6 s" in down["msg"]
    assert "Connection refused" in down["msg"] or "ConnectError" in down["msg"]
    assert down.elapsed >= 6  # it waited for the whole wait_timeout
    # It polled, and no longer than wait_timeout: a refused probe ends at once, so the reads are the first request
    # and one probe per poll interval, one more at the deadline (14 when idle), against 240 for the default 120 s.
    # Counted rather than timed: a busy host slows ansible-playbook down.
    assert 3 <= down["requests"]["read"] <= 2 + 6 / READINESS_POLL_INTERVAL + 2


def test_no_secret_in_verbose_output(run_module, api, proxy, alias_prefix):
    a, b = alias_prefix + "a", alias_prefix + "b"
    sa, sb, sb2 = new_secret(), new_secret(), new_secret()
    keys = [{"alias": a, "secret": sa, "metadata": {"environment": "dev"}}, {"alias": b, "secret": sb}]
    runs = [run_module(keys, diff=True, verbose=3)]
    api.update(key=token_of(sa), metadata={"environment": "tampered"})
    runs.append(run_module(keys, diff=True, verbose=3))
    runs.append(run_module([keys[0], dict(keys[1], secret=sb2, replace=True)], diff=True, verbose=3))
    runs.append(run_module([keys[0], dict(keys[1], secret=new_secret())], diff=True, verbose=3))  # conflict
    assert [r.actions() if not r.get("failed") else "failed" for r in runs] == [
        [(a, "created"), (b, "created")], [(a, "updated"), (b, "unchanged")], [(a, "unchanged"), (b, "replaced")],
        "failed"]
    for run in runs:
        text = run.stdout + run.stderr + json.dumps(run.result)
        assert token_of(sa) in text or run.get("failed")  # the output does talk about the keys
        for secret in (sa, sb, sb2, proxy.master_key):
            assert secret not in text
