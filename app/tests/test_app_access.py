"""The bearer token every route but /health and /metrics needs, and the request body limit."""

from __future__ import annotations

import pytest
from reasoning_api_fakes import CLIENT_TOKEN

from reasoning_api.access import token_accepted
from reasoning_api.config import ConfigError, Settings

CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
EXTRA = "rapi-extra-token-abcdefghijklmnopqrstuvwxyz"


def test_no_token_gets_401_with_www_authenticate(client, proxy):
    response = client.post("/v1/chat/completions", json=CHAT, headers={"Authorization": ""})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="reasoning-api"'
    assert response.json()["error"]["code"] == "missing_api_key"
    assert response.json()["error"]["type"] == "authentication_error"
    assert proxy.requests == []


def test_wrong_token_gets_401_invalid_token(client, proxy):
    response = client.get("/v1/models", headers={"Authorization": "Bearer rapi-wrong"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="reasoning-api", error="invalid_token"'
    assert response.json()["error"]["code"] == "invalid_api_key"
    assert proxy.requests == []


def test_other_scheme_gets_401(client):
    response = client.get("/v1/models", headers={"Authorization": f"Basic {CLIENT_TOKEN}"})
    assert response.status_code == 401


def test_the_token_is_accepted(client):
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_an_extra_token_is_accepted(make_client):
    client = make_client(client_tokens=(CLIENT_TOKEN, EXTRA))
    assert client.get("/v1/models", headers={"Authorization": f"Bearer {EXTRA}"}).status_code == 200


def test_health_and_metrics_stay_open(client):
    for path in ("/health", "/metrics"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200
    assert client.get("/health").json()["auth_required"] is True


def test_a_refused_request_is_not_traced(client, exporter):
    client.get("/v1/models", headers={"Authorization": ""})
    assert exporter.get_finished_spans() == ()


def test_no_tokens_configured_means_no_check(make_client):
    client = make_client(client_tokens=())
    assert client.get("/v1/models", headers={"Authorization": ""}).status_code == 200
    assert client.get("/health").json()["auth_required"] is False


def test_body_over_the_limit_gets_413(make_client, proxy):
    client = make_client(max_request_bytes=2048)
    big = dict(CHAT, messages=[{"role": "user", "content": "x" * 4096}])
    response = client.post("/v1/chat/completions", json=big)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"
    assert proxy.requests == []


def test_body_without_length_over_the_limit_gets_413(make_client, proxy):
    client = make_client(max_request_bytes=2048)

    def chunks():
        yield b'{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "'
        for _ in range(8):
            yield b"x" * 512
        yield b'"}]}'

    response = client.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert proxy.requests == []


def test_body_under_the_limit_passes(make_client):
    client = make_client(max_request_bytes=2048)
    assert client.post("/v1/chat/completions", json=CHAT).status_code == 200


def test_token_accepted():
    assert token_accepted(f"Bearer {CLIENT_TOKEN}", (CLIENT_TOKEN,))
    assert token_accepted(f"bearer  {CLIENT_TOKEN} ", (CLIENT_TOKEN,))
    assert not token_accepted("Bearer ", (CLIENT_TOKEN,))
    assert not token_accepted(None, (CLIENT_TOKEN,))
    assert not token_accepted(f"Bearer {CLIENT_TOKEN}x", (CLIENT_TOKEN,))


def test_settings_from_env():
    settings = Settings.from_env({"API_CLIENT_TOKENS": f"{CLIENT_TOKEN}, {EXTRA}\n", "MAX_REQUEST_BYTES": "4096",
                                  "TRACING_API_KEY": "phx-key"})
    assert settings.client_tokens == (CLIENT_TOKEN, EXTRA)
    assert settings.max_request_bytes == 4096
    assert settings.tracing_api_key == "phx-key"
    assert CLIENT_TOKEN not in repr(settings) and "phx-key" not in repr(settings)


@pytest.mark.parametrize("value", ["many", "100"])
def test_bad_max_request_bytes_is_refused(value):
    with pytest.raises(ConfigError, match="MAX_REQUEST_BYTES"):
        Settings.from_env({"MAX_REQUEST_BYTES": value})
