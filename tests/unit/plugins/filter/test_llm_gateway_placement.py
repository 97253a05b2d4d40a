"""plugins/filter/llm_gateway_placement.py: where each service is reached from, and the cross-host links that
cannot work, derived from the inventory alone."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_placement as placement

HOSTVARS = {
    "db": {"llm_gateway_private_address": "10.0.0.1", "llm_gateway_bind_address": "10.0.0.1"},
    "gw": {"llm_gateway_private_address": "10.0.0.2", "llm_gateway_bind_address": "10.0.0.2"},
    "app": {"llm_gateway_private_address": "10.0.0.3", "llm_gateway_bind_address": "10.0.0.3"},
}


def test_a_service_on_the_same_host_is_reached_by_its_alias_and_container_port():
    assert placement.endpoint(["db"], "db", HOSTVARS, "postgres-litellm", 5432, 5433) == {"host": "postgres-litellm", "port": 5432}


def test_a_service_on_another_host_is_reached_at_its_private_address_and_published_port():
    assert placement.endpoint(["db"], "gw", HOSTVARS, "postgres-litellm", 5432, 5433) == {"host": "10.0.0.1", "port": 5433}


def test_a_consumer_that_runs_the_service_itself_uses_its_own():
    assert placement.endpoint(["gw", "app"], "app", HOSTVARS, "litellm", 4000, 4000)["host"] == "litellm"


def test_an_unpublished_service_on_another_host_is_an_error_naming_both_hosts():
    with pytest.raises(ValueError, match="gw reaches 'postgres-litellm' on db, but its published port is null"):
        placement.endpoint(["db"], "gw", HOSTVARS, "postgres-litellm", 5432, None)


def test_a_group_without_host_is_an_error():
    with pytest.raises(ValueError, match="no inventory host runs the service 'phoenix'"):
        placement.endpoint([], "gw", HOSTVARS, "phoenix", 6006, 6006)


@pytest.mark.parametrize("host, expected", [("10.0.0.1", "http://10.0.0.1:6006/v1/traces"),
                                            ("fd00::1", "http://[fd00::1]:6006/v1/traces"),
                                            ("phoenix", "http://phoenix:6006/v1/traces")])
def test_url_of_an_endpoint(host, expected):
    assert placement.url({"host": host, "port": 6006}, "http", "/v1/traces") == expected


def test_peer_addresses_leave_out_the_service_host_and_duplicates():
    hostvars = dict(HOSTVARS, gw2={"llm_gateway_private_address": "10.0.0.2"})
    assert placement.peer_addresses(["db", "gw", "gw2", "app"], "db", hostvars) == ["10.0.0.2", "10.0.0.3"]


LINK = {"consumer": "gateway", "provider": "databases", "service": "LiteLLM's PostgreSQL",
        "port_variable": "litellm_postgres_published_port", "port": 5433}
GROUPS = {"databases": ["db"], "gateway": ["gw"]}


def test_a_link_on_one_host_needs_nothing():
    assert placement.link_problems([dict(LINK, port=None)], {"databases": ["db"], "gateway": ["db"]}, HOSTVARS) == []


def test_a_good_cross_host_link_has_no_problem():
    assert placement.link_problems([LINK], GROUPS, HOSTVARS) == []


@pytest.mark.parametrize("link, hostvars, expected", [
    (dict(LINK, port=None), HOSTVARS,
     "gw (gateway) reaches LiteLLM's PostgreSQL on db (databases), but litellm_postgres_published_port is null"),
    (LINK, dict(HOSTVARS, db={"llm_gateway_private_address": "10.0.0.1", "llm_gateway_bind_address": "127.0.0.1"}),
     "db publishes its ports on llm_gateway_bind_address '127.0.0.1', a loopback address"),
    (LINK, dict(HOSTVARS, db={"llm_gateway_private_address": "db.example", "llm_gateway_bind_address": "0.0.0.0"}),
     "llm_gateway_private_address of db is 'db.example', not an IP address"),
])
def test_a_broken_cross_host_link_is_named(link, hostvars, expected):
    problems = placement.link_problems([link], GROUPS, hostvars)
    assert any(expected in p for p in problems), problems


def test_a_group_without_host_is_a_link_problem():
    problems = placement.link_problems([LINK], {"databases": [], "gateway": ["gw"]}, HOSTVARS)
    assert problems == ["the inventory group 'databases' has no host, so nothing runs LiteLLM's PostgreSQL"]


def test_a_group_of_several_hosts_is_a_link_problem_naming_them():
    problems = placement.link_problems([LINK], {"databases": ["db"], "gateway": ["gw", "app"]}, HOSTVARS)
    assert problems == [
        "the inventory group 'gateway' has 2 hosts (gw, app), but each service runs on one host (LiteLLM's replicas "
        "too: spreading them over several gateway hosts is not supported): put one host in it"
    ]
