"""plugins/filter/llm_gateway_day2.py: the tables, lists and decisions of status.yml, rotate_keys.yml and
migrate_from_compose.yml, from the shapes Docker and LiteLLM answer with."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_day2 as day2


def _result(service, container, info=None):
    """One item of a docker_container_info loop over llm_gateway_services | dict2items."""
    return {"item": {"key": service, "value": {"container": container}}, "exists": info is not None, "container": info}


HEALTHY = {"State": {"Status": "running", "Health": {"Status": "healthy"}}, "Config": {"Image": "phoenix:20"}}
PORTS = {"phoenix": 6006, "litellm": 4000, "app": 8000}
READY = {"status": 200, "json": {"db": "connected"}}


SERVICES = {
    "phoenix": {"containers": ["phoenix"], "group": "observability", "timeout": 180},
    "litellm": {"containers": ["litellm-proxy", "litellm-proxy-2"], "group": "gateway", "timeout": 300},
    "litellm-balancer": {"containers": ["litellm-balancer"], "group": "gateway", "host": "gw1", "timeout": 120},
    "redis": {"containers": [], "group": "gateway", "host": "gw1", "timeout": 60},
}


def test_service_containers_one_item_per_container_of_this_host():
    items = day2.service_containers(SERVICES, "gw2", ["gateway", "llm_gateway"])
    assert [(i["key"], i["value"]["container"]) for i in items] == [("litellm", "litellm-proxy"), ("litellm", "litellm-proxy-2")]
    assert items[0]["value"]["timeout"] == 300  # the service's settings come along


def test_service_containers_a_service_with_a_host_runs_there_only_and_none_without_containers():
    items = day2.service_containers(SERVICES, "gw1", ["gateway", "observability"])
    assert [(i["key"], i["value"]["container"]) for i in items] == [
        ("phoenix", "phoenix"), ("litellm", "litellm-proxy"), ("litellm", "litellm-proxy-2"),
        ("litellm-balancer", "litellm-balancer")]
    assert day2.service_containers(SERVICES, "db1", ["databases"]) == []


def test_status_rows_keep_state_health_and_image_and_mark_what_is_missing():
    rows = day2.status_rows([
        _result("phoenix", "phoenix", HEALTHY),
        _result("reasoning-api", "reasoning-api", {"State": {"Status": "exited"}, "Config": {"Image": "app:1"}}),
        _result("litellm", "litellm-proxy"),
    ], "gw1")
    assert rows == [
        {"service": "phoenix", "container": "phoenix", "host": "gw1", "state": "running", "health": "healthy",
         "image": "phoenix:20"},
        {"service": "reasoning-api", "container": "reasoning-api", "host": "gw1", "state": "exited", "health": "none",
         "image": "app:1"},
        {"service": "litellm", "container": "litellm-proxy", "host": "gw1", "state": "absent", "health": "none",
         "image": "-"},
    ]


def test_status_rows_keep_no_environment():
    info = dict(HEALTHY, Config={"Image": "litellm:1", "Env": ["LITELLM_MASTER_KEY=sk-secret"]})
    assert "sk-secret" not in repr(day2.status_rows([_result("litellm", "litellm-proxy", info)], "h"))


def test_status_report_lines():
    rows = day2.status_rows([_result("phoenix", "phoenix", HEALTHY)], "localhost")
    assert day2.status_report(rows, READY, "127.0.0.1", PORTS) == [
        "SERVICE           CONTAINER                STATE    HEALTH     IMAGE",
        "phoenix           phoenix                  running  healthy    phoenix:20",
        "",
        "LiteLLM readiness: HTTP 200, db connected",
        "Phoenix UI:        http://127.0.0.1:6006",
        "LiteLLM:           http://127.0.0.1:4000  (admin UI: http://127.0.0.1:4000/ui)",
        "reasoning-api:     http://127.0.0.1:8000  (docs: http://127.0.0.1:8000/docs)",
    ]


def test_status_report_names_the_host_when_there_are_several_and_unpublished_ports():
    rows = day2.status_rows([_result("phoenix", "phoenix", HEALTHY)], "obs1")
    lines = day2.status_report(rows, READY, "10.0.0.5", {"phoenix": None, "litellm": "", "app": 18000}, show_host=True)
    assert lines[1].endswith("phoenix:20 on obs1")
    assert lines[4:] == ["Phoenix UI:        not published", "LiteLLM:           not published",
                         "reasoning-api:     http://10.0.0.5:18000  (docs: http://10.0.0.5:18000/docs)"]


@pytest.mark.parametrize("readiness, line", [
    ({}, "LiteLLM readiness: HTTP -, db no answer"),
    ({"status": 503, "json": {"db": "Not connected"}}, "LiteLLM readiness: HTTP 503, db Not connected"),
    ({"status": -1, "msg": "Connection refused"}, "LiteLLM readiness: HTTP -1, db Connection refused"),
    # Jinja's truncate(80): kept whole up to 85 characters, else cut at a word before 77 and "..." appended.
    ({"status": -1, "msg": "x" * 85}, "LiteLLM readiness: HTTP -1, db " + "x" * 85),
    ({"status": -1, "msg": "word " * 18}, "LiteLLM readiness: HTTP -1, db " + " ".join(["word"] * 15) + "..."),
])
def test_status_report_readiness_line(readiness, line):
    assert day2.status_report([], readiness, "127.0.0.1", PORTS)[2] == line


def test_status_problems_name_each_unhealthy_service_and_litellm_readiness():
    rows = day2.status_rows([
        _result("phoenix", "phoenix", HEALTHY),
        _result("reasoning-api", "day2-reasoning-api", {"State": {"Status": "exited"}, "Config": {}}),
        _result("litellm", "litellm-proxy", {"State": {"Status": "running", "Health": {"Status": "starting"}}}),
    ], "localhost")
    assert day2.status_problems(rows, READY) == [
        "reasoning-api (day2-reasoning-api on localhost: exited, health none)",
        "litellm (litellm-proxy on localhost: running, health starting)",
    ]
    assert day2.status_problems(rows[:1], READY) == []


@pytest.mark.parametrize("readiness, problem", [
    ({"status": 503, "json": {"db": "Not connected"}}, "litellm readiness (HTTP 503, db Not connected)"),
    ({"status": 200, "json": {"status": "healthy"}}, "litellm readiness (HTTP 200, db -)"),
    ({"status": -1, "msg": "Connection refused"}, "litellm readiness (HTTP -1, db -)"),
    ({}, "litellm readiness (HTTP -, db -)"),
])
def test_status_problems_when_litellm_is_not_ready(readiness, problem):
    assert day2.status_problems([], readiness) == [problem]


def test_present_key_aliases():
    keys = [{"alias": "litellm-dev"}, {"alias": "gone", "state": "absent"}, {"alias": "litellm-eval", "state": "present"}]
    assert day2.present_key_aliases(keys) == ["litellm-dev", "litellm-eval"]
    assert day2.present_key_aliases([]) == []


@pytest.mark.parametrize("value, aliases", [
    ("litellm-eval", ["litellm-eval"]),
    (" a , b,a,, ", ["a", "b"]),
    ("", []),
    (["x", " y", "", "x"], ["x", "y"]),
    ([], []),
])
def test_alias_list(value, aliases):
    assert day2.alias_list(value) == aliases


def test_compose_containers():
    found = day2.compose_containers([
        {"Names": ["/proj-postgres-phoenix-1"], "Id": "a1", "State": "running",
         "Labels": {"com.docker.compose.service": "postgres-phoenix", "com.docker.compose.project": "proj"}},
        {"Names": ["/proj-tool-1"], "Id": "b2", "State": "exited", "Labels": {}},
    ])
    assert found == [
        {"name": "proj-postgres-phoenix-1", "id": "a1", "state": "running", "service": "postgres-phoenix"},
        {"name": "proj-tool-1", "id": "b2", "state": "exited", "service": "?"},
    ]


DATA = "/var/lib/postgresql/data"


def test_postgres_settings_read_the_compose_database():
    container = {
        "Config": {"Env": ["POSTGRES_USER=phoenix", "POSTGRES_PASSWORD=pa=ss", "POSTGRES_DB=phoenix_db", "PATH=/bin"]},
        "Mounts": [{"Destination": "/init", "Type": "bind"},
                   {"Destination": DATA, "Type": "volume", "Name": "proj_phoenix_postgres_data"}],
    }
    assert day2.postgres_settings(container, DATA) == {
        "user": "phoenix", "db": "phoenix_db", "password": "pa=ss", "pgdata": DATA, "mount_type": "volume",
        "volume": "proj_phoenix_postgres_data",
    }


def test_postgres_settings_fall_back_to_the_image_defaults():
    container = {"Config": {"Env": ["POSTGRES_USER=", "PGDATA=/var/lib/postgresql/data//", "NOVALUE"]},
                 "Mounts": [{"Destination": DATA, "Type": "bind", "Source": "/srv/pg"}]}
    assert day2.postgres_settings(container, DATA) == {
        "user": "postgres", "db": "postgres", "password": "", "pgdata": DATA, "mount_type": "bind", "volume": "",
    }


def test_postgres_settings_without_a_data_mount():
    container = {"Config": {"Env": ["PGDATA=/var/lib/postgresql/data/pgdata"]}, "Mounts": []}
    settings = day2.postgres_settings(container, DATA)
    assert (settings["pgdata"], settings["mount_type"], settings["volume"]) == (DATA + "/pgdata", "none", "")


def test_postgres_settings_print_nothing(capsys):
    day2.postgres_settings({"Config": {"Env": ["POSTGRES_PASSWORD=hunter2"]}, "Mounts": []}, DATA)
    captured = capsys.readouterr()
    assert "hunter2" not in captured.out + captured.err


COMPOSE = [{"id": "c1", "name": "proj-postgres-phoenix-1"}]
MADE_FROM_SOURCE = {"exists": True, "volume": {"Labels": {"llm-gateway.migrated-from": "src"}}}


@pytest.mark.parametrize("target_info, source, users, plan", [
    ({"exists": True}, "tgt", [], "in-place"),
    ({"exists": False}, "src", [], "copy"),
    (MADE_FROM_SOURCE, "src", [{"Id": "c1"}], "recopy"),
    (MADE_FROM_SOURCE, "src", [{"Id": "c1"}, {"Id": "other"}], "conflict"),
    (MADE_FROM_SOURCE, "elsewhere", [], "conflict"),
    ({"exists": True, "volume": {"Labels": None}}, "src", [], "conflict"),
])
def test_migration_plan(target_info, source, users, plan):
    assert day2.migration_plan(target_info, "tgt", source, users, COMPOSE) == plan
