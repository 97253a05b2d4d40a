"""Logins on every UI and API (issue 12): Phoenix, LiteLLM's admin UI and the reasoning-api refuse anonymous callers
and accept the credentials the playbook keeps in the inventory's vault; LiteLLM exports spans with Phoenix's key."""

from __future__ import annotations

import os
import time
import uuid
from datetime import datetime, timedelta, timezone

from conftest import container_env, phoenix_spans

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}
UI_ENABLED = os.environ.get("LLM_GATEWAY_LITELLM_UI_ENABLED", "true") == "true"


def test_phoenix_refuses_anonymous_rest_graphql_and_otlp(anonymous, urls):
    assert anonymous.get(f"{urls['phoenix']}/v1/projects").status_code == 401
    graphql = anonymous.post(f"{urls['phoenix']}/graphql", json={"query": "{projects{edges{node{name}}}}"})
    assert graphql.status_code == 401
    otlp = anonymous.post(f"{urls['phoenix']}/v1/traces", content=b"",
                          headers={"Content-Type": "application/x-protobuf"})
    assert otlp.status_code == 401
    # The health check stays open (Docker's and the playbook's probes).
    assert anonymous.get(f"{urls['phoenix']}/healthz").status_code == 200


def test_phoenix_accepts_the_system_key(anonymous, urls, secrets):
    key = secrets["phoenix_api_key"]
    auth = {"Authorization": f"Bearer {key}"}
    assert anonymous.get(f"{urls['phoenix']}/v1/projects", headers=auth).status_code == 200
    viewer = anonymous.get(f"{urls['phoenix']}/v1/user", headers=auth)
    assert viewer.status_code == 200 and viewer.json()["data"]["role"] == "SYSTEM"


def test_phoenix_admin_logs_in_with_the_vault_password(anonymous, urls, secrets):
    login = anonymous.post(f"{urls['phoenix']}/auth/login",
                           json={"email": "admin@localhost", "password": secrets["phoenix_admin_password"]})
    assert login.status_code == 204, login.text
    wrong = anonymous.post(f"{urls['phoenix']}/auth/login",
                           json={"email": "admin@localhost", "password": "not-the-password"})
    assert wrong.status_code == 401


def test_litellm_spans_arrive_in_phoenix_with_the_key(http, urls, secrets, inspect, host_of):
    """LiteLLM holds the key in its key file (read-only in the replica, readable by the replica's user only on the
    host), never in its configuration, and Phoenix files its spans: an export refused with 401 would not."""
    info = inspect("litellm")
    env = container_env(info)
    assert "PHOENIX_API_KEY" not in env and "OTEL_EXPORTER_OTLP_HEADERS" not in env
    assert secrets["phoenix_api_key"] not in str(info)
    mount = next(m for m in info["Mounts"] if m["Destination"] == "/opt/llm-gateway/phoenix-key")
    assert mount["RW"] is False
    key_file = host_of("litellm").file(f"{mount['Source']}/api_key")
    assert key_file.mode == 0o400
    user = info["Config"]["User"]
    assert key_file.uid == (int(user.split(":")[0]) if user else 0)
    assert key_file.content_string == secrets["phoenix_api_key"]
    since = datetime.now(timezone.utc) - timedelta(seconds=5)
    marker = f"logins-{uuid.uuid4().hex}"
    master = secrets["litellm_master_key"]
    body = dict(CHAT, messages=[{"role": "user", "content": marker}])
    response = http.post(f"{urls['litellm']}/v1/chat/completions", json=body,
                         headers={"Authorization": f"Bearer {master}"})
    assert response.status_code == 200, response.text
    deadline = time.monotonic() + 90
    while True:
        spans = phoenix_spans(http, urls, since=since, name=["litellm_request"])
        if any(marker in str(span.get("attributes")) for span in spans):
            break
        assert time.monotonic() < deadline, "LiteLLM's span of the request did not reach Phoenix in 90 s"
        time.sleep(2)


def test_app_refuses_anonymous_callers(anonymous, urls):
    response = anonymous.post(f"{urls['app']}/v1/chat/completions", json=CHAT)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = anonymous.get(f"{urls['app']}/v1/models", headers={"Authorization": "Bearer rapi-not-a-token-0123456789"})
    assert wrong.status_code == 401
    assert anonymous.get(f"{urls['app']}/health").status_code == 200


def test_app_accepts_the_client_token(anonymous, urls, secrets):
    auth = {"Authorization": f"Bearer {secrets['reasoning_api_client_token']}"}
    assert anonymous.get(f"{urls['app']}/v1/models", headers=auth).status_code == 200


def test_app_refuses_a_body_over_its_limit(anonymous, urls, secrets):
    auth = {"Authorization": f"Bearer {secrets['reasoning_api_client_token']}"}
    limit = anonymous.get(f"{urls['app']}/health").json()["max_request_bytes"]
    big = dict(CHAT, messages=[{"role": "user", "content": "x" * (limit + 1)}])
    assert anonymous.post(f"{urls['app']}/v1/chat/completions", json=big, headers=auth).status_code == 413


def test_litellm_ui_login_needs_its_own_password(anonymous, urls, secrets):
    """/login takes UI_USERNAME/UI_PASSWORD from the vault; the master key is no UI password."""
    login = f"{urls['litellm']}/login"
    master = anonymous.post(login, data={"username": "admin", "password": secrets["litellm_master_key"]},
                            follow_redirects=False)
    assert master.status_code >= 400, master.status_code
    if UI_ENABLED:
        good = anonymous.post(login, data={"username": "admin", "password": secrets["litellm_ui_password"]},
                              follow_redirects=False)
        assert good.status_code in (200, 303), good.text[:300]
