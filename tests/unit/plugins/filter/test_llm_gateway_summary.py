"""plugins/filter/llm_gateway_summary.py: the closing summary of site.yml, from what Docker lists and the settings."""

from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_summary as summary

SERVICES = [{"key": service, "value": {"container": name}}
            for service, name in [("phoenix", "phoenix"), ("litellm", "litellm-proxy"), ("reasoning-api", "reasoning-api")]]
URLS = {"phoenix": "http://127.0.0.1:6006  (UI, traces)", "litellm": "http://127.0.0.1:4000  (admin UI: /ui)",
        "reasoning-api": "http://127.0.0.1:8000/v1/chat/completions", "postgres-phoenix": ""}
KEYS = {"aliases": ["litellm-dev", "litellm-eval"], "app": "litellm-dev"}
VAULT = {"file": "inventories/dev/vault/secrets.vault.yml",
         "view": ".venv/bin/ansible-vault view --vault-id dev@scripts/dev-vault-password inventories/dev/vault/secrets.vault.yml"}
OPENAI = {"kind": "openai", "models": ["gpt-4o"]}


def _listed(name, status, state="running"):
    """One container as docker_host_info's verbose list has it."""
    return {"Names": ["/" + name], "State": state, "Status": status, "Image": name + ":1"}


def _rows():
    return summary.host_container_rows([
        _listed("phoenix", "Up 2 minutes (healthy)"),
        _listed("litellm-proxy", "Up 9 seconds (health: starting)"),
        _listed("other", "Up 1 hour"),
    ], SERVICES, "gw1")


def test_rows_take_state_and_health_from_the_listing_and_mark_missing_containers():
    assert _rows() == [
        {"service": "phoenix", "container": "phoenix", "host": "gw1", "state": "running", "health": "healthy",
         "image": "phoenix:1"},
        {"service": "litellm", "container": "litellm-proxy", "host": "gw1", "state": "running", "health": "starting",
         "image": "litellm-proxy:1"},
        {"service": "reasoning-api", "container": "reasoning-api", "host": "gw1", "state": "absent", "health": "none",
         "image": "-"},
    ]


def test_summary_lists_each_service_with_its_health_and_url():
    lines = summary.deploy_summary(_rows(), URLS, KEYS, VAULT, OPENAI)

    text = "\n".join(lines)
    assert lines[0] == "The stack's state:"
    assert any(line.split()[:4] == ["phoenix", "phoenix", "running", "healthy"] and "http://127.0.0.1:6006" in line
               for line in lines), text
    assert any(line.split()[:4] == ["litellm", "litellm-proxy", "running", "starting"] for line in lines), text
    assert any(line.split()[:4] == ["reasoning-api", "reasoning-api", "absent", "none"] for line in lines), text


def test_after_the_runs_own_wait_a_starting_container_reads_as_ready():
    lines = summary.deploy_summary(_rows(), URLS, KEYS, VAULT, OPENAI, ready=True)

    assert lines[0] == "The stack is deployed."
    assert any(line.split()[:4] == ["litellm", "litellm-proxy", "running", "ready"] for line in lines), lines
    # An absent container stays absent whatever the wait said.
    assert any(line.split()[:4] == ["reasoning-api", "reasoning-api", "absent", "none"] for line in lines), lines


def test_summary_names_the_key_aliases_where_the_master_key_is_and_the_next_commands():
    text = "\n".join(summary.deploy_summary(_rows(), URLS, KEYS, VAULT, OPENAI))

    assert "Virtual keys ensured: litellm-dev (the app's), litellm-eval" in text
    assert "llm_gateway_secrets_values.litellm_master_key in" in text
    assert VAULT["file"] in text and VAULT["view"] in text
    assert "make status" in text and "make logs SERVICE=litellm [FOLLOW=1]" in text
    assert "WARNING" not in text


def test_without_an_openai_key_the_summary_warns_which_models_fail_and_how_to_fix_it():
    lines = summary.deploy_summary(_rows(), URLS, KEYS, VAULT, {"kind": "none", "models": ["gpt-4o", "o1-mini"]})

    warning = [line for line in lines if line.startswith("WARNING")]
    assert warning == [
        "WARNING: no OpenAI key is configured. Requests for gpt-4o, o1-mini will fail: LiteLLM retries OpenAI without"
        " a key for about 10 s, then answers an authentication error (the app passes it on)."]
    assert any("export OPENAI_API_KEY" in line and "llm_gateway_demo_upstream: true" in line for line in lines)


def test_the_demo_upstream_is_labelled_as_such():
    text = "\n".join(summary.deploy_summary(_rows(), URLS, KEYS, VAULT, {"kind": "demo", "models": []}))

    assert "Upstream: the DEMO upstream, not OpenAI: canned answers" in text
    assert "WARNING" not in text


def test_an_unpublished_service_says_so_and_several_hosts_are_named():
    rows = summary.host_container_rows([_listed("phoenix-postgres", "Up 1 minute (healthy)")],
                                       [{"key": "postgres-phoenix", "value": {"container": "phoenix-postgres"}}], "db1")
    lines = summary.deploy_summary(rows, URLS, KEYS, VAULT, OPENAI, show_host=True)

    assert any(line.split()[:4] == ["postgres-phoenix", "phoenix-postgres", "running", "healthy"]
               and line.endswith("not published on db1") for line in lines), lines


def test_each_replica_is_a_row_and_a_rows_own_url_is_its_hosts():
    replicas = [{"key": "litellm", "value": {"container": name}} for name in ("litellm-proxy", "litellm-proxy-2")]
    balancer = [{"key": "litellm-balancer", "value": {"container": "litellm-balancer"}}]
    rows = summary.host_container_rows(
        [_listed("litellm-proxy", "Up 1 minute (healthy)"), _listed("litellm-proxy-2", "Up 1 minute (healthy)"),
         _listed("litellm-balancer", "Up 1 minute (healthy)")],
        replicas + balancer, "gw1", {"litellm": "", "litellm-balancer": "http://10.0.1.13:4000"})
    lines = summary.deploy_summary(rows, {"litellm-balancer": "http://127.0.0.1:4000"}, KEYS, VAULT, OPENAI)

    assert [row["container"] for row in rows] == ["litellm-proxy", "litellm-proxy-2", "litellm-balancer"]
    assert sum(line.split()[:1] == ["litellm"] and line.endswith("not published") for line in lines) == 2, lines
    assert any(line.split()[:2] == ["litellm-balancer", "litellm-balancer"] and "http://10.0.1.13:4000" in line
               for line in lines), lines
