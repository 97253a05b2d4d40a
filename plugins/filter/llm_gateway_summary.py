# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The closing summary of site.yml, as filters: what runs where, how to reach it, and what to do next.

They take names, states and paths only: no secret ever reaches them (the key aliases, never the keys).
"""

from __future__ import annotations

import re

_ROW_FORMAT = "  %-17s %-22s %-9s %-9s %s"
_HEALTH = re.compile(r"\((?:health: )?([a-z]+)\)")


def host_container_rows(containers, services, host, urls=None):
    """docker_host_info's verbose container list -> one status row per container of the stack run here.

    ``services``: this host's containers, as llm_gateway.stack.service_containers gives them ({key: service,
    value: {container: name, ...}}); a container that does not exist is a row with the state ``absent``.
    ``urls``: service -> where it is reached on this host ('' when not published), kept in each row's ``url``."""
    by_name = {}
    for container in containers or []:
        for name in container.get("Names") or []:
            by_name[name.lstrip("/")] = container
    rows = []
    for item in services or []:
        service, name = item["key"], item["value"]["container"]
        found = by_name.get(name, {})
        health = _HEALTH.search(found.get("Status") or "")
        row = {"service": service, "container": name, "host": host, "state": found.get("State", "absent"),
               "health": health.group(1) if health else "none", "image": found.get("Image", "-")}
        if urls is not None:
            row["url"] = urls.get(service, "")
        rows.append(row)
    return rows


def deploy_summary(rows, urls, keys, vault, upstream, ready=False, show_host=False):
    """The closing summary's lines.

    rows: status rows (see host_container_rows); urls: service -> where it is reached on its host ('' unpublished),
    for rows without a url of their own (the URL on their host);
    keys: {'aliases': [...], 'app': alias}; vault: {'file': path, 'view': command};
    upstream: {'kind': 'openai' | 'demo' | 'custom' | 'none', 'models': [names that fail without a key]};
    ready: the run's own wait saw every service answer its health check (Docker's status may lag by one interval).
    """
    lines = ["The stack is deployed." if ready else "The stack's state:",
             _ROW_FORMAT % ("SERVICE", "CONTAINER", "STATE", "HEALTH", "URL ON THIS HOST")]
    for row in rows or []:
        health = row["health"]
        if ready and row["state"] == "running" and health == "starting":
            health = "ready"  # answered its own health check in this run; Docker's next check says healthy
        where = (row["url"] if "url" in row else urls.get(row["service"])) or "not published"
        lines.append(_ROW_FORMAT % (row["service"], row["container"], row["state"], health, where)
                     + (" on %s" % row["host"] if show_host else ""))
    aliases = [a + (" (the app's)" if a == keys.get("app") else "") for a in keys.get("aliases") or []]
    lines += ["",
              "Virtual keys ensured: %s (aliases only: the secrets stay in the vault)." % (", ".join(aliases) or "none"),
              "LiteLLM master key (admin UI login, /key/* calls): llm_gateway_secrets_values.litellm_master_key in",
              "  %s; view it with: %s" % (vault["file"], vault["view"])]
    kind = upstream.get("kind")
    if kind == "demo":
        lines.append("Upstream: the DEMO upstream, not OpenAI: canned answers, each starting with [demo upstream: ...],"
                     " no model behind them. For real answers export OPENAI_API_KEY=sk-... and run site.yml again.")
    elif kind == "custom":
        lines.append("Upstream: the api_base set for the models (litellm_openai_api_base or per model).")
    else:
        lines.append("Upstream: OpenAI.")
    lines += ["", "Next: make status (health and URLs) | make logs SERVICE=litellm [FOLLOW=1] | make help (every target)"]
    if kind == "none":
        lines += ["",
                  "WARNING: no OpenAI key is configured. Requests for %s will fail: LiteLLM retries OpenAI without a key"
                  " for about 10 s, then answers an authentication error (the app passes it on)."
                  % ", ".join(upstream.get("models") or []),
                  "  Fix: export OPENAI_API_KEY=sk-... (or keep it in the vault as llm_gateway_secrets_values.openai_api_key)"
                  " and run site.yml again; to try the chain without a key, set llm_gateway_demo_upstream: true (not in"
                  " prod: the demo upstream gives canned answers)."]
    return lines


class FilterModule:
    def filters(self):
        return {"host_container_rows": host_container_rows, "deploy_summary": deploy_summary}
