"""phoenix_system_key against an in-memory Phoenix behind httpx.MockTransport: a valid key is kept without a write,
a missing or revoked one is replaced, check mode writes nothing, a wrong admin secret fails with a message."""

import json

import httpx
import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.llm_gateway.stack.plugins.modules import phoenix_system_key

ADMIN = "adm1n-secret-0123456789abcdefghijklmnop"
URL = "http://phoenix.test:6006"


class FakePhoenix:
    """Accepts the keys it issued (unless revoked) and the admin secret; counts writes."""

    def __init__(self, ready=True):
        self.keys = {}
        self.user_keys = set()
        self.created = 0
        self.ready = ready
        # The admin as Phoenix creates it: its initial password, a new one asked for at first login.
        self.admin_password = "initial-Passw0rd-from-the-vault"
        self.admin_needs_reset = True
        self.patches = 0

    def issue(self):
        self.created += 1
        key = "phx-key-%d-abcdefghijklmnopqrstuvwxyz" % self.created
        self.keys[key] = "U3lzdGVtQXBpS2V5OjE%d" % self.created
        return key

    def handler(self, request: httpx.Request) -> httpx.Response:
        if not self.ready:
            raise httpx.ConnectError("connection refused")
        auth = request.headers.get("authorization", "")
        token = auth[len("Bearer "):] if auth.startswith("Bearer ") else ""
        if request.url.path == "/healthz":
            return httpx.Response(200, text="OK")
        if request.url.path == "/v1/user" and request.method == "GET":
            if token in self.keys:
                return httpx.Response(200, json={"data": {"id": "1", "username": "system", "role": "SYSTEM"}})
            if token in self.user_keys:
                return httpx.Response(200, json={"data": {"id": "2", "username": "admin", "role": "ADMIN"}})
            return httpx.Response(401, json={"detail": "Not authenticated"})
        if request.url.path == "/v1/system/api_keys" and request.method == "POST":
            if token != ADMIN:
                return httpx.Response(401, json={"detail": "Not authenticated"})
            body = json.loads(request.content)
            assert body["data"]["name"]
            key = self.issue()
            return httpx.Response(201, json={"data": {"id": self.keys[key], "key": key, "name": body["data"]["name"]}})
        if request.url.path == "/v1/users" and request.method == "GET":
            if token != ADMIN:
                return httpx.Response(401, json={"detail": "Not authenticated"})
            return httpx.Response(200, json={"data": [
                {"email": "system@localhost", "role": "SYSTEM"},
                {"email": "admin@localhost", "role": "ADMIN", "password_needs_reset": self.admin_needs_reset}]})
        if request.url.path == "/auth/login" and request.method == "POST":
            body = json.loads(request.content)
            if body != {"email": "admin@localhost", "password": self.admin_password}:
                return httpx.Response(401)
            return httpx.Response(204, headers={"set-cookie": "phoenix-access-token=session; Path=/; Secure; HttpOnly"})
        if request.url.path == "/graphql" and request.method == "POST":
            body = json.loads(request.content)
            given = body["variables"]["input"]
            if "phoenix-access-token=session" not in request.headers.get("cookie", "") or "patchViewer" not in body["query"]:
                return httpx.Response(200, json={"errors": [{"message": "Unauthorized"}]})
            if given["currentPassword"] != self.admin_password:
                return httpx.Response(200, json={"errors": [{"message": "Valid current password is required"}]})
            self.admin_password, self.admin_needs_reset = given["newPassword"], False
            self.patches += 1
            return httpx.Response(200, json={"data": {"patchViewer": {"__typename": "UserMutationPayload"}}})
        return httpx.Response(404)


@pytest.fixture
def phoenix(monkeypatch):
    fake = FakePhoenix()
    monkeypatch.setattr(phoenix_system_key, "TRANSPORT", httpx.MockTransport(fake.handler))
    return fake


def run(capsys, check_mode=False, **args):
    params = dict(url=URL, admin_secret=ADMIN, wait_timeout=0)
    params.update(args)
    if check_mode:
        params["_ansible_check_mode"] = True
    with patch_module_args(params):
        with pytest.raises(SystemExit):
            phoenix_system_key.main()
    return json.loads(capsys.readouterr().out)


def test_missing_key_is_created(phoenix, capsys):
    result = run(capsys)
    assert result["changed"] is True
    assert result["action"] == "created" and result["reason"] == "missing"
    assert result["key"] in phoenix.keys
    assert phoenix.created == 1


def test_valid_key_is_kept_without_a_write(phoenix, capsys):
    key = phoenix.issue()
    result = run(capsys, key=key)
    assert result["changed"] is False
    assert result["action"] == "unchanged"
    assert "key" not in result
    assert phoenix.created == 1


def test_revoked_key_is_replaced(phoenix, capsys):
    result = run(capsys, key="phx-revoked-abcdefghijklmnopqrstuvwxyz")
    assert result["changed"] is True
    assert result["reason"] == "invalid"
    assert result["key"] in phoenix.keys


def test_a_users_own_key_is_not_taken_for_the_system_key(phoenix, capsys):
    phoenix.user_keys.add("phx-user-key-abcdefghijklmnopqrstuvwxyz")
    result = run(capsys, key="phx-user-key-abcdefghijklmnopqrstuvwxyz")
    assert result["changed"] is True
    assert result["key"] in phoenix.keys


def test_check_mode_reports_without_creating(phoenix, capsys):
    result = run(capsys, check_mode=True)
    assert result["changed"] is True
    assert "key" not in result
    assert phoenix.created == 0


def test_check_mode_keeps_a_valid_key(phoenix, capsys):
    key = phoenix.issue()
    result = run(capsys, check_mode=True, key=key)
    assert result["changed"] is False


def test_check_mode_without_phoenix_warns(phoenix, capsys):
    phoenix.ready = False
    result = run(capsys, check_mode=True)
    assert result["changed"] is True
    assert "was not ready" in json.dumps(result["warnings"])


def test_wrong_admin_secret_fails_with_a_message_and_no_secret(phoenix, capsys):
    result = run(capsys, admin_secret="wrong-secret-0123456789abcdefghij")
    assert result["failed"] is True
    assert "PHOENIX_ADMIN_SECRET" in result["msg"]
    assert "wrong-secret" not in json.dumps(result)


def test_unreachable_phoenix_fails_after_waiting(phoenix, capsys):
    phoenix.ready = False
    result = run(capsys)
    assert result["failed"] is True
    assert "was not ready after 0 s" in result["msg"]


def test_empty_admin_secret_is_refused_before_any_request(phoenix, capsys):
    result = run(capsys, admin_secret="")
    assert result["failed"] is True
    assert "admin_secret is empty" in result["msg"]
    assert phoenix.created == 0


def test_wait_ready_waits_until_healthz_answers():
    calls = []

    def handler(request):
        calls.append(request.url.path)
        return httpx.Response(200 if len(calls) >= 3 else 503)

    now = [0.0]
    with httpx.Client(base_url=URL, transport=httpx.MockTransport(handler)) as client:
        phoenix_system_key.wait_ready(client, 60, sleep=lambda s: now.__setitem__(0, now[0] + s),
                                      clock=lambda: now[0])
    assert calls == ["/healthz"] * 3


def test_admin_password_is_confirmed_once_while_phoenix_asks_for_a_new_one(phoenix, capsys):
    key = phoenix.issue()
    result = run(capsys, key=key, admin_password="initial-Passw0rd-from-the-vault")
    assert result["changed"] is True and result["admin_password_confirmed"] is True
    assert phoenix.patches == 1 and not phoenix.admin_needs_reset
    assert phoenix.admin_password == "initial-Passw0rd-from-the-vault"  # the vault's password still logs in
    again = run(capsys, key=key, admin_password="initial-Passw0rd-from-the-vault")
    assert again["changed"] is False and again["admin_password_confirmed"] is False
    assert phoenix.patches == 1


def test_check_mode_reports_the_admin_password_without_confirming_it(phoenix, capsys):
    result = run(capsys, check_mode=True, key=phoenix.issue(), admin_password="initial-Passw0rd-from-the-vault")
    assert result["changed"] is True and result["admin_password_confirmed"] is True
    assert phoenix.patches == 0 and phoenix.admin_needs_reset


def test_without_admin_password_the_admin_is_left_alone(phoenix, capsys):
    result = run(capsys, key=phoenix.issue())
    assert result["changed"] is False and result["admin_password_confirmed"] is False
    assert phoenix.admin_needs_reset


def test_a_wrong_admin_password_fails_with_a_message_and_no_secret(phoenix, capsys):
    result = run(capsys, key=phoenix.issue(), admin_password="not-the-Passw0rd")
    assert result["failed"] is True and "refused the admin's login" in result["msg"]
    assert "not-the-Passw0rd" not in json.dumps(result)


def test_an_unreadable_ca_path_fails_with_a_message_before_any_request(phoenix, capsys, tmp_path):
    missing = str(tmp_path / "missing.pem")
    result = run(capsys, url="https://phoenix.test:6006", ca_path=missing)
    assert result["failed"] is True
    assert "cannot load the CA certificates of ca_path %s" % missing in result["msg"]
    assert phoenix.created == 0
