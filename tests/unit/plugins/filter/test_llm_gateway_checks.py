"""plugins/filter/llm_gateway_checks.py: each check finds the problem, names the entry and the value, and passes
good input."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_checks as checks

GOOD_MODELS = [{"name": "gpt-4o", "model": "openai/gpt-4o"},
               {"name": "local", "model": "openai/local", "api_base": "http://fake-openai:8080/v1"}]


def test_good_models_have_no_problem():
    assert checks.model_list_problems(GOOD_MODELS) == []


@pytest.mark.parametrize("models, expected", [
    ([], "it is empty: list at least one model"),
    ([{"name": "", "model": "openai/a"}], "entry 0 has the name '': give a non-empty name without whitespace"),
    ([{"name": "gpt 4o", "model": "openai/a"}], "entry 0 has the name 'gpt 4o'"),
    ([{"name": "a", "model": " "}], "entry 0 ('a') has the model ' ': give provider/model"),
    ([{"name": "a", "model": "openai/a", "api_base": "fake-openai:8080"}],
     "entry 0 ('a') has the api_base 'fake-openai:8080': give an http(s) URL"),
    ([{"name": "a", "model": "openai/a"}, {"name": "a", "model": "openai/b"}], "the name 'a' is listed more than once"),
    (["gpt-4o"], "entry 0 is 'gpt-4o', not a mapping"),
])
def test_bad_models_are_named_with_their_value(models, expected):
    problems = checks.model_list_problems(models)
    assert any(expected in p for p in problems), problems


def test_good_keys_have_no_problem():
    keys = [{"alias": "app", "models": ["gpt-4o"], "max_budget": 0, "rpm_limit": 60, "duration": "30d",
             "budget_duration": "1mo"}, {"alias": "eval", "budget_duration": "monthly"}]
    assert checks.key_problems(keys, ["gpt-4o", "gpt-4o-mini"]) == []


@pytest.mark.parametrize("key, expected", [
    ({"alias": "app", "max_budget": -1}, "key 'app' has max_budget: -1: give a number of 0 or more"),
    ({"alias": "app", "rpm_limit": -5}, "key 'app' has rpm_limit: -5"),
    ({"alias": "app", "tpm_limit": -1}, "key 'app' has tpm_limit: -1"),
    ({"alias": "app", "max_parallel_requests": -2}, "key 'app' has max_parallel_requests: -2"),
    ({"alias": "app", "duration": "thirty days"}, "key 'app' has duration: 'thirty days': give a count and a unit"),
    ({"alias": "app", "duration": "30"}, "key 'app' has duration: '30'"),
    ({"alias": "app", "budget_duration": "1y"}, "key 'app' has budget_duration: '1y'"),
    ({"alias": "app", "models": ["gpt-5"]}, "key 'app' names models the proxy does not serve: gpt-5 (it serves gpt-4o)"),
])
def test_bad_keys_are_named_with_their_value(key, expected):
    problems = checks.key_problems([key], ["gpt-4o"])
    assert any(expected in p for p in problems), problems


def test_a_repeated_alias_is_a_problem():
    assert checks.key_problems([{"alias": "a"}, {"alias": "a"}]) == ["key 'a' is listed more than once: keep one entry per alias"]


def test_env_problems():
    assert checks.env_problems({"PHOENIX_LOGGING_LEVEL": "info"}, "x_secret_env") == []
    problems = checks.env_problems({"1BAD": "v", "MY_API_KEY": "v", "TRAILING": "v ", "LINES": "a\nb"}, "x_secret_env")
    assert problems == [
        "'1BAD' is not a valid environment variable name",
        "MY_API_KEY looks secret: put it in x_secret_env, which never reaches a file or a diff",
        "TRAILING has the value 'v ': no line break or leading/trailing whitespace",
        "LINES has the value 'a\\nb': no line break or leading/trailing whitespace",
    ]


def test_port_clashes():
    published = {"a_port": ["127.0.0.1", 6006], "b_port": ["127.0.0.1", 6006], "c_port": ["127.0.0.2", 6006],
                 "d_port": ["0.0.0.0", 4000], "e_port": ["127.0.0.1", 4000], "f_port": None, "g_port": ["127.0.0.1", None]}
    assert checks.port_clashes(published) == [
        "a_port (127.0.0.1:6006) and b_port (127.0.0.1:6006)",
        "d_port (0.0.0.0:4000) and e_port (127.0.0.1:4000)",
    ]


def test_backend_problems():
    good = [{"name": "litellm-proxy", "address": "litellm-proxy", "port": 4000},
            {"name": "litellm-proxy-2", "address": "10.0.0.2", "port": "4001"}]
    assert checks.backend_problems(good) == []
    assert checks.backend_problems([]) == [
        "it is empty: list at least one server, e.g. [{name: litellm-proxy, address: litellm-proxy, port: 4000}]"]
    bad = [{"name": "a b", "address": "x", "port": 1}, {"name": "c", "address": "", "port": 0}, "d",
           {"name": "c", "address": "y", "port": True}]
    assert checks.backend_problems(bad) == [
        "entry 0 has the name 'a b': use letters, digits, '.', '_', '-' only",
        "entry 1 ('c') has the address '': give a host name or address",
        "entry 1 ('c') has the port 0: give a port from 1 to 65535",
        "entry 2 is 'd', not a mapping with name, address and port",
        "entry 3 ('c') has the port True: give a port from 1 to 65535",
        "the name 'c' is listed more than once: keep one entry per server",
    ]


# -- port_problems: each variable a port from 1 to 65535, null only where it may stay unpublished --------------


def test_good_ports_have_no_problem():
    ports = {"a_port": 1, "b_port": 65535, "c_port": "4000", "d_published_port": None}
    assert checks.port_problems(ports, nullable=["d_published_port"]) == []


@pytest.mark.parametrize("port", [0, -1, 65536, 70000, "0", "70000", "-1", "abc", "", "40 00", "4000\n", 4000.0,
                                  True, False, [4000]])
def test_a_bad_port_is_named_with_its_value(port):
    problems = checks.port_problems({"litellm_port": port})
    assert problems == [f"litellm_port must be a port from 1 to 65535, got {port!r}."]


def test_null_is_a_port_only_where_it_is_allowed():
    assert checks.port_problems({"redis_port": None}) == ["redis_port must be a port from 1 to 65535, got None."]
    assert checks.port_problems({"redis_port": None}, nullable=["other_port"]) == [
        "redis_port must be a port from 1 to 65535, got None."]
    assert checks.port_problems({"postgres_published_port": None}, nullable=["postgres_published_port"]) == []


def test_a_nullable_port_says_so_when_it_is_wrong():
    assert checks.port_problems({"balancer_published_port": 70000}, nullable=["balancer_published_port"]) == [
        "balancer_published_port must be a port from 1 to 65535 or null, got 70000."]


def test_every_bad_port_is_named_in_order():
    ports = {"phoenix_http_port": 0, "phoenix_grpc_port": 4317, "phoenix_published_http_port": "http",
             "phoenix_published_grpc_port": True}
    assert checks.port_problems(ports, nullable=["phoenix_published_http_port", "phoenix_published_grpc_port"]) == [
        "phoenix_http_port must be a port from 1 to 65535, got 0.",
        "phoenix_published_http_port must be a port from 1 to 65535 or null, got 'http'.",
        "phoenix_published_grpc_port must be a port from 1 to 65535 or null, got True.",
    ]


# -- exposure_problems: only the TLS entry point beyond loopback when it is public ------------------------------

LOOPBACK_ONLY = {"litellm_published_port": ["127.0.0.1", 4000], "reasoning_api_published_port": ["127.0.0.1", 8000],
                 "phoenix_postgres_published_port": ["127.0.0.1", None], "phoenix_published_grpc_port": None}


def test_a_loopback_entry_point_allows_anything():
    assert checks.exposure_problems({"litellm_published_port": ["0.0.0.0", 4000]}, "127.0.0.1") == []


def test_a_public_entry_point_with_everything_else_on_loopback_is_fine():
    assert checks.exposure_problems(LOOPBACK_ONLY, "203.0.113.10") == []
    assert checks.exposure_problems(LOOPBACK_ONLY, "0.0.0.0") == []


@pytest.mark.parametrize("address", ["0.0.0.0", "10.0.0.5", "203.0.113.10", "::"])
def test_a_public_entry_point_refuses_another_port_beyond_loopback(address):
    published = dict(LOOPBACK_ONLY, litellm_published_port=[address, 4000])
    problems = checks.exposure_problems(published, "203.0.113.10")
    assert len(problems) == 1
    assert problems[0].startswith(f"litellm_published_port publishes port 4000 on {address!r}")
    assert "publish it on 127.0.0.1" in problems[0]


def test_several_hosts_allow_the_private_address_only():
    published = {"litellm_published_port": ["10.0.0.5", 4000], "reasoning_api_published_port": ["10.0.0.6", 8000]}
    problems = checks.exposure_problems(published, "203.0.113.10", "10.0.0.5", True)
    assert len(problems) == 1 and problems[0].startswith("reasoning_api_published_port publishes port 8000 on '10.0.0.6'")
    assert "or the private address 10.0.0.5" in problems[0]


@pytest.mark.parametrize("public", ["10.0.0.5", "0.0.0.0"])
def test_several_hosts_refuse_a_public_address_covering_the_private_one(public):
    problems = checks.exposure_problems({"litellm_published_port": ["10.0.0.5", 4000]}, public, "10.0.0.5", True)
    assert problems and problems[0].startswith(f"llm_gateway_public_address {public!r} covers this host's private address")


# -- image references (issue 12: pinned by digest as well as tag) ------------------------------------------------

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize("reference", [
    "docker.io/library/redis:7.0.15",
    f"docker.io/library/redis:7.0.15@{DIGEST}",
    "127.0.0.1:15000/llm-gateway-offline/postgres:15",
    f"ghcr.io/berriai/litellm:v1.108.7@{DIGEST}",
])
def test_tags_and_well_formed_digests_pass(reference):
    assert checks.image_problems({"svc": reference}) == []


@pytest.mark.parametrize("reference, expected", [
    ("docker.io/library/redis", "svc: 'docker.io/library/redis' is not name:tag or name:tag@sha256:<64 hex digits>"),
    (f"docker.io/library/redis@{DIGEST}", "is not name:tag"),
    ("redis:7.0.15@sha256:abc", "svc: 'redis:7.0.15@sha256:abc' has the digest 'sha256:abc': give sha256: and 64"),
    ("redis:7.0.15@sha256:" + "0123456789ABCDEF" * 4, "has the digest"),
    ("redis:7.0.15@md5:" + "0" * 64, "has the digest"),
    ("redis:7.0 .15", "is not name:tag"),
    (None, "svc: None is not name:tag"),
])
def test_bad_references_are_named_with_their_value(reference, expected):
    problems = checks.image_problems({"svc": reference})
    assert len(problems) == 1 and expected in problems[0], problems


def test_a_required_digest_is_asked_for_by_name():
    problems = checks.image_problems({"redis": "redis:7.0.15", "pg": f"postgres:16@{DIGEST}"}, require_digest=True)
    assert problems == ["redis: 'redis:7.0.15' has no digest: pin it as redis:7.0.15@sha256:<its 64 hex digits>"]
