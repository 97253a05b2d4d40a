"""LiteLLMClient: request/response handling against httpx.MockTransport (no network)."""

import json

import httpx
import pytest

from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_client import (
    LiteLLMAuthError,
    LiteLLMClient,
    LiteLLMError,
    LiteLLMNotReady,
)

URL = "http://litellm.test:4000"
MASTER = "sk-master-0123456789abcdefghijklmnopqrstuvwxyz"


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(handler, clock=None):
    clock = clock or FakeClock()
    return LiteLLMClient(URL, MASTER, timeout=5, transport=httpx.MockTransport(handler),
                         sleep=clock.sleep, monotonic=clock.monotonic)


def error(status, message):
    return httpx.Response(status, json={"error": {"message": message, "type": "x", "param": None,
                                                  "code": str(status)}})


# -- readiness ------------------------------------------------------------------------------------------------


def test_wait_ready_returns_at_once_when_db_connected():
    seen = []

    def handler(request):
        seen.append(request.url.path)
        return httpx.Response(200, json={"status": "healthy", "db": "connected"})

    client = make_client(handler)
    client.wait_ready(120)
    assert seen == ["/health/readiness"]
    assert client.requests == {"read": 1, "write": 0}


def test_wait_ready_polls_through_503_until_connected():
    answers = [httpx.Response(503, json={"detail": "starting"})] * 3 + [
        httpx.Response(200, json={"status": "healthy", "db": "connected"})]
    clock = FakeClock()
    client = make_client(lambda request: answers.pop(0), clock)
    client.wait_ready(120)
    assert answers == []
    assert client.requests["read"] == 4
    assert clock.sleeps == [0.5, 0.5, 0.5]


def test_wait_ready_times_out_naming_url_and_last_answer():
    clock = FakeClock()
    client = make_client(lambda request: httpx.Response(200, json={"status": "healthy", "db": "Not connected"}), clock)
    with pytest.raises(LiteLLMNotReady) as info:
        client.wait_ready(7)
    message = str(info.value)
    assert URL in message
    assert "within 7 s" in message
    assert "Not connected" in message and "HTTP 200" in message
    assert clock.now == pytest.approx(7)


def test_wait_ready_unreachable_reports_the_connection_error():
    def handler(request):
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    clock = FakeClock()
    client = make_client(handler, clock)
    with pytest.raises(LiteLLMNotReady) as info:
        client.wait_ready(5)
    assert "Connection refused" in str(info.value)
    assert URL in str(info.value)
    assert clock.now == pytest.approx(5)


def test_wait_ready_zero_probes_once():
    client = make_client(lambda request: httpx.Response(503, text="shutting_down"))
    with pytest.raises(LiteLLMNotReady):
        client.wait_ready(0)
    assert client.requests == {"read": 1, "write": 0}


# -- key list -------------------------------------------------------------------------------------------------


def test_list_keys_sends_one_request_with_master_key_and_full_objects():
    seen = []

    def handler(request):
        seen.append(request)
        return httpx.Response(200, json={"keys": [{"token": "a"}], "total_count": 1, "current_page": 1,
                                         "total_pages": 1})

    client = make_client(handler)
    assert client.list_keys() == [{"token": "a"}]
    assert len(seen) == 1
    assert seen[0].headers["authorization"] == "Bearer " + MASTER
    assert seen[0].url.path == "/key/list"
    assert dict(seen[0].url.params) == {"return_full_object": "true", "size": "100", "page": "1"}


def test_list_keys_reads_further_pages_only_when_there_are_more():
    def handler(request):
        page = int(request.url.params["page"])
        return httpx.Response(200, json={"keys": [{"token": "p%d" % page}], "total_pages": 3, "current_page": page})

    client = make_client(handler)
    assert [row["token"] for row in client.list_keys()] == ["p1", "p2", "p3"]
    assert client.requests == {"read": 3, "write": 0}


def test_list_keys_refuses_hash_only_rows():
    client = make_client(lambda request: httpx.Response(200, json={"keys": ["abc"], "total_pages": 1}))
    with pytest.raises(LiteLLMError, match="return_full_object"):
        client.list_keys()


# -- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_master_key_is_named(status):
    client = make_client(lambda request: error(status, "Authentication Error, Invalid API key provided."))
    with pytest.raises(LiteLLMAuthError) as info:
        client.list_keys()
    message = str(info.value)
    assert message.startswith("LiteLLM rejected the master key (HTTP %d)" % status)
    assert "GET %s/key/list" % URL in message
    assert "Invalid API key provided" in message
    assert MASTER not in message


def test_api_error_names_method_path_status_and_litellm_message():
    client = make_client(lambda request: error(400, "Key with alias 'a' already exists."))
    with pytest.raises(LiteLLMError) as info:
        client.generate_key({"key": "sk-x", "key_alias": "a"})
    e = info.value
    assert (e.method, e.path, e.status) == ("POST", "/key/generate", 400)
    assert str(e) == ("LiteLLM API error: POST %s/key/generate answered HTTP 400: "
                      "Key with alias 'a' already exists." % URL)


def test_api_error_without_json_body_keeps_the_text():
    client = make_client(lambda request: httpx.Response(502, text="Bad Gateway"))
    with pytest.raises(LiteLLMError, match="HTTP 502: Bad Gateway"):
        client.update_key({"key": "t"})


def test_transport_failure_on_a_write_names_the_request():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    client = make_client(handler)
    with pytest.raises(LiteLLMError) as info:
        client.update_key({"key": "t", "models": []})
    assert info.value.status is None
    assert "POST %s/key/update failed without an HTTP answer: ReadTimeout" % URL in str(info.value)
    assert client.requests == {"read": 0, "write": 1}


# -- writes ---------------------------------------------------------------------------------------------------


def test_generate_key_returns_token_and_name_never_the_plaintext():
    secret = "sk-abcdefghijklmnopqrstuvwxyz0123456789"
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json={"key": secret, "token_id": "f" * 64, "token": "f" * 64,
                                         "key_name": "sk-...6789", "key_alias": "a"})

    client = make_client(handler)
    created = client.generate_key({"key": secret, "key_alias": "a"})
    assert created == {"token": "f" * 64, "key_name": "sk-...6789"}
    assert bodies == [{"key": secret, "key_alias": "a"}]
    assert client.requests == {"read": 0, "write": 1}


def test_delete_by_alias_and_404_means_nothing_to_delete():
    answers = [httpx.Response(200, json={"deleted_keys": ["a"]}),
               error(404, "{'error': 'No keys found'}")]
    bodies = []

    def handler(request):
        bodies.append(json.loads(request.content))
        return answers.pop(0)

    client = make_client(handler)
    assert client.delete_keys(aliases=["a"]) is True
    assert client.delete_keys(tokens=["t"]) is False
    assert bodies == [{"key_aliases": ["a"]}, {"keys": ["t"]}]
    assert client.requests == {"read": 0, "write": 2}


def test_ca_path_and_validate_certs_build_the_verify_setting(tmp_path):
    # A transport-less client with validate_certs false must build without touching any CA file.
    client = LiteLLMClient("https://litellm.test", MASTER, validate_certs=False)
    client.close()
    with pytest.raises(LiteLLMError, match="cannot load the CA certificates of ca_path .*missing.pem"):
        LiteLLMClient("https://litellm.test", MASTER, ca_path=str(tmp_path / "missing.pem"))


def test_wait_ready_cuts_each_probe_timeout_to_the_time_left():
    timeouts = []
    clock = FakeClock()

    def handler(request):
        timeouts.append(request.extensions["timeout"]["read"])
        return httpx.Response(503, text="starting")

    client = LiteLLMClient(URL, MASTER, timeout=30, transport=httpx.MockTransport(handler),
                           sleep=clock.sleep, monotonic=clock.monotonic)
    with pytest.raises(LiteLLMNotReady):
        client.wait_ready(2)
    assert timeouts == [2.0, 1.5, 1.0, 1.0, 1.0]  # t = 0, 0.5, 1, 1.5, 2: never under a second
