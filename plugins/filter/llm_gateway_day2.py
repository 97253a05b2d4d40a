# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""The tables, lists and decisions of the day-2 playbooks (status, rotate_keys, migrate_from_compose), as filters.

They take what Docker and LiteLLM answered (registered task results) and return plain data; they log nothing, so a
task that passes a secret through them (the compose database's password) stays as quiet as its no_log makes it.
"""

from __future__ import annotations

import re

_MISSING = object()
_STATUS_HEADER = ("SERVICE", "CONTAINER", "STATE", "HEALTH", "IMAGE")
_STATUS_FORMAT = "%-17s %-24s %-8s %-10s %s"
_TRUNCATE_AT = 80
_TRUNCATE_LEEWAY = 5  # Jinja's truncate: a text up to 5 characters longer than the limit is kept whole


def _dig(value, *keys, default=None):
    """value[k1][k2]... or default when a key is missing or a level is not a mapping (Jinja's `a.b.c | default(x)`)."""
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            return default
        value = value[key]
    return value


def _truncate(text, length=_TRUNCATE_AT, end="..."):
    """Jinja's truncate(length): cut at a word boundary and append "..." when the text is too long."""
    text = str(text)
    if len(text) <= length + _TRUNCATE_LEEWAY:
        return text
    return text[: length - len(end)].rsplit(" ", 1)[0] + end


# status.yml, logs.yml, restart.yml, down.yml

def service_containers(services, host, groups):
    """llm_gateway_services -> one item per container this host runs, shaped like a dict2items item of one service:
    {key: service, value: the service's settings with its container}. A service with a host runs there only, any
    other on every host of its group."""
    items = []
    for name, service in (services or {}).items():
        here = service["host"] == host if service.get("host") else service["group"] in (groups or [])
        items += [{"key": name, "value": dict(service, container=c)} for c in service["containers"] if here]
    return items


def status_rows(results, host):
    """docker_container_info results of a loop over llm_gateway_services items -> one row per service."""
    rows = []
    for result in results or []:
        container = (result.get("container") or {}) if result.get("exists") else {}
        rows.append({
            "service": result["item"]["key"],
            "container": result["item"]["value"]["container"],
            "host": host,
            "state": _dig(container, "State", "Status", default="absent"),
            "health": _dig(container, "State", "Health", "Status", default="none"),
            "image": _dig(container, "Config", "Image", default="-"),
        })
    return rows


def _readiness_db(readiness, default):
    return _dig(readiness, "json", "db", default=default)


def status_report(rows, readiness, bind, ports, show_host=False):
    """The status summary, line by line: one line per row, LiteLLM's readiness, the published URLs."""
    lines = [_STATUS_FORMAT % _STATUS_HEADER]
    for row in rows or []:
        lines.append(_STATUS_FORMAT % (row["service"], row["container"], row["state"], row["health"], row["image"])
                     + (" on %s" % row["host"] if show_host else ""))
    readiness = readiness or {}
    message = _truncate(readiness.get("msg", "no answer"))
    lines.append("")
    lines.append("LiteLLM readiness: HTTP %s, db %s" % (readiness.get("status", "-"), _readiness_db(readiness, message)))
    url = "http://%s:" % bind
    phoenix, litellm, app = ports.get("phoenix"), ports.get("litellm"), ports.get("app")
    lines.append("Phoenix UI:        " + (f"{url}{phoenix}" if phoenix else "not published"))
    lines.append("LiteLLM:           " + (f"{url}{litellm}  (admin UI: {url}{litellm}/ui)" if litellm else "not published"))
    lines.append("reasoning-api:     " + (f"{url}{app}  (docs: {url}{app}/docs)" if app else "not published"))
    return lines


def status_problems(rows, readiness):
    """What is not healthy: each service not running and healthy, and LiteLLM when not ready with its database."""
    problems = ["%s (%s on %s: %s, health %s)" % (r["service"], r["container"], r["host"], r["state"], r["health"])
                for r in rows or [] if r["state"] != "running" or r["health"] != "healthy"]
    readiness = readiness or {}
    if readiness.get("status", -1) != 200 or _readiness_db(readiness, "") != "connected":
        problems.append("litellm readiness (HTTP %s, db %s)" % (readiness.get("status", "-"), _readiness_db(readiness, "-")))
    return problems


# rotate_keys.yml

def present_key_aliases(keys):
    """The aliases of the keys to keep (state present, the default), in their order."""
    return [key["alias"] for key in keys or [] if key.get("state", "present") == "present"]


def alias_list(value):
    """"a, b,a" or a list -> ["a", "b"]: trimmed, without empty names or repeats, in their order."""
    names = value.split(",") if isinstance(value, str) else (value or [])
    aliases = []
    for name in (str(n).strip() for n in names):
        if name and name not in aliases:
            aliases.append(name)
    return aliases


# migrate_from_compose.yml

def compose_containers(containers):
    """docker_host_info containers (verbose) -> name, id, state and compose service of each."""
    found = []
    for container in containers or []:
        found.append({
            "name": re.sub("^/", "", container["Names"][0]),
            "id": container["Id"],
            "state": container["State"],
            "service": (container.get("Labels") or {}).get("com.docker.compose.service", "?"),
        })
    return found


def postgres_settings(container, data_dir):
    """An inspected PostgreSQL container -> the user, database, password and data layout it runs with.

    The values are those of the official image: POSTGRES_USER (default postgres), POSTGRES_DB (default the user),
    POSTGRES_PASSWORD, PGDATA (default data_dir), and the mount at data_dir (its type and, for a volume, its name).
    The result holds the password: use it in no_log tasks only.
    """
    env = {}
    for entry in _dig(container, "Config", "Env", default=None) or []:
        name, value = entry.split("=", 1) if "=" in entry else (entry, "")
        env[name] = value
    data = [m for m in container.get("Mounts") or [] if m.get("Destination") == data_dir]
    user = env.get("POSTGRES_USER") or "postgres"
    return {
        "user": user,
        "db": env.get("POSTGRES_DB") or user,
        "password": env.get("POSTGRES_PASSWORD", ""),
        "pgdata": re.sub("/+$", "", env.get("PGDATA") or data_dir),
        "mount_type": data[0]["Type"] if data else "none",
        "volume": data[0].get("Name", "") if data else "",
    }


def migration_plan(target_info, target, source_volume, target_users, compose):
    """How the compose volume's data reaches the target volume.

    in-place: the compose volume is the target; copy: the target does not exist; recopy: the target was made from the
    same compose volume and no other container uses it (a run stopped half-way); conflict: anything else.
    target_info is docker_volume_info's result, target_users the containers using the target, compose the compose
    project's containers (compose_containers).
    """
    if source_volume == target:
        return "in-place"
    if not target_info.get("exists"):
        return "copy"
    labels = _dig(target_info, "volume", "Labels", default=None) or {}
    compose_ids = {c["id"] for c in compose or []}
    others = [c for c in target_users or [] if c.get("Id") not in compose_ids]
    if labels.get("llm-gateway.migrated-from", "") == source_volume and not others:
        return "recopy"
    return "conflict"


class FilterModule:
    def filters(self):
        return {
            "service_containers": service_containers,
            "status_rows": status_rows,
            "status_report": status_report,
            "status_problems": status_problems,
            "present_key_aliases": present_key_aliases,
            "alias_list": alias_list,
            "compose_containers": compose_containers,
            "postgres_settings": postgres_settings,
            "migration_plan": migration_plan,
        }
