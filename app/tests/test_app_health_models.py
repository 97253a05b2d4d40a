from reasoning_api_fakes import VIRTUAL_KEY


def test_health_reports_ok_and_configuration(client, proxy):
    response = client.get("/health")
    assert response.status_code == 200
    payload = response.json()
    assert payload["status"] == "ok"
    assert payload["llm_api_key_configured"] is True
    assert payload["llm_base_url"] == "http://litellm:4000"
    assert payload["default_routing_mode"] == "passthrough"
    assert VIRTUAL_KEY not in response.text
    assert proxy.requests == [], "health must not call the LLM proxy"


def test_health_without_key_is_still_ok(make_client):
    response = make_client(llm_api_key="").get("/health")
    assert response.status_code == 200
    assert response.json()["llm_api_key_configured"] is False


def test_models_are_forwarded_with_the_virtual_key(client, proxy):
    response = client.get("/v1/models")
    assert response.status_code == 200
    assert response.json()["data"][0]["id"] == "gpt-4o-mini"
    [request] = proxy.requests
    assert request["method"] == "GET"
    assert request["path"] == "/v1/models"
    assert request["headers"]["authorization"] == f"Bearer {VIRTUAL_KEY}"


def test_models_with_a_v1_base_url_do_not_double_the_prefix(make_client, proxy):
    from reasoning_api.config import normalize_base_url

    make_client(llm_base_url=normalize_base_url("http://litellm:4000/v1")).get("/v1/models")
    assert proxy.requests[0]["path"] == "/v1/models"


def test_models_without_key_answer_503(make_client, proxy):
    response = make_client(llm_api_key="").get("/v1/models")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "llm_api_key_missing"
    assert proxy.requests == []


def test_models_upstream_error_keeps_its_status(client, proxy):
    import httpx

    proxy.override = lambda request, body: httpx.Response(
        401, json={"error": {"message": "Authentication Error, invalid key", "type": "auth_error", "code": "401"}}
    )
    response = client.get("/v1/models")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Authentication Error, invalid key"
