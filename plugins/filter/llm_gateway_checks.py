# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Checks of the stack's settings, as filters that return a list of problems (empty when the value is usable).

Each problem names the entry and the value, so the assert that uses it can name the variable and stop the run
before anything changes.
"""

from __future__ import annotations

import ipaddress
import re

_NAME = re.compile(r"^\S+$")
_URL = re.compile(r"^https?://\S+$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_LOOKING = re.compile(r"key|secret|password|token|database_url", re.IGNORECASE)
# LiteLLM's durations: a count and a unit (s, m, h, d, w, mo), or a word it knows (litellm/litellm_core_utils/duration_parser.py).
_DURATION = re.compile(r"^\d+(s|m|h|d|w|mo)$")
_DURATION_WORDS = {"hourly", "daily", "weekly", "monthly"}
_WILDCARDS = {"0.0.0.0", "::", ""}
_SERVER_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_KEY_LIMITS = ("max_budget", "rpm_limit", "tpm_limit", "max_parallel_requests")
# An image reference: [registry/]path:tag, optionally pinned by its digest as well (name:tag@sha256:<64 hex>).
_IMAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._/:-]*?)(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?(?:@(?P<digest>.*))?$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_DIGITS = re.compile(r"[0-9]+")


def model_list_problems(models):
    """A LiteLLM model list: at least one entry; each a name without whitespace, a model, an http(s) api_base."""
    if not isinstance(models, list) or not models:
        return ["it is empty: list at least one model, e.g. [{name: gpt-4o, model: openai/gpt-4o}]"]
    problems, seen = [], set()
    for index, entry in enumerate(models):
        if not isinstance(entry, dict):
            problems.append(f"entry {index} is {entry!r}, not a mapping with name and model")
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(f"entry {index} has the name {name!r}: give a non-empty name without whitespace")
        if not isinstance(entry.get("model"), str) or not entry["model"].strip():
            problems.append(f"entry {index} ({name!r}) has the model {entry.get('model')!r}: give provider/model, e.g. openai/gpt-4o")
        api_base = entry.get("api_base")
        if api_base not in (None, "") and not (isinstance(api_base, str) and _URL.match(api_base)):
            problems.append(f"entry {index} ({name!r}) has the api_base {api_base!r}: give an http(s) URL or leave it out")
        if name in seen:
            problems.append(f"the name {name!r} is listed more than once: keep one entry per name")
        seen.add(name)
    return problems


def key_problems(keys, served_models=None):
    """Virtual keys: non-negative limits, durations LiteLLM parses, only models the proxy serves, unique aliases."""
    served = set(served_models or [])
    problems, seen = [], set()
    for index, key in enumerate(keys or []):
        alias = key.get("alias")
        label = f"key {alias!r}"
        if alias in seen:
            problems.append(f"{label} is listed more than once: keep one entry per alias")
        seen.add(alias)
        for field in _KEY_LIMITS:
            value = key.get(field)
            if value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0):
                problems.append(f"{label} has {field}: {value!r}: give a number of 0 or more, or leave it out for no limit")
        for field in ("duration", "budget_duration"):
            value = key.get(field)
            if value is not None and not (isinstance(value, str) and (_DURATION.match(value) or value.lower() in _DURATION_WORDS)):
                problems.append(f"{label} has {field}: {value!r}: give a count and a unit such as 30d, 12h, 1mo (s, m, h, d, w, mo)")
        unknown = [m for m in key.get("models") or [] if served and m not in served]
        if unknown:
            problems.append(f"{label} names models the proxy does not serve: {', '.join(map(str, unknown))} "
                            f"(it serves {', '.join(sorted(served))})")
    return problems


def env_problems(env, secret_variable):
    """Non-secret container environment: valid names, one-line values, and no name that looks like a secret."""
    problems = []
    for name, value in (env or {}).items():
        if not _ENV_NAME.match(str(name)):
            problems.append(f"{name!r} is not a valid environment variable name")
        elif _SECRET_LOOKING.search(name):
            problems.append(f"{name} looks secret: put it in {secret_variable}, which never reaches a file or a diff")
        if isinstance(value, str) and (value != value.strip() or "\n" in value):
            problems.append(f"{name} has the value {value!r}: no line break or leading/trailing whitespace")
    return problems


def backend_problems(backends):
    """The balancer's servers: at least one; each a name HAProxy accepts, an address, a port; names unique."""
    if not isinstance(backends, list) or not backends:
        return ["it is empty: list at least one server, e.g. [{name: litellm-proxy, address: litellm-proxy, port: 4000}]"]
    problems, seen = [], set()
    for index, entry in enumerate(backends):
        if not isinstance(entry, dict):
            problems.append(f"entry {index} is {entry!r}, not a mapping with name, address and port")
            continue
        name, address, port = entry.get("name"), entry.get("address"), entry.get("port")
        if not isinstance(name, str) or not _SERVER_NAME.match(name):
            problems.append(f"entry {index} has the name {name!r}: use letters, digits, '.', '_', '-' only")
        if not isinstance(address, str) or not _NAME.match(address):
            problems.append(f"entry {index} ({name!r}) has the address {address!r}: give a host name or address")
        if isinstance(port, bool) or not str(port).isdigit() or not 1 <= int(port) <= 65535:
            problems.append(f"entry {index} ({name!r}) has the port {port!r}: give a port from 1 to 65535")
        if name in seen:
            problems.append(f"the name {name!r} is listed more than once: keep one entry per server")
        seen.add(name)
    return problems


def port_problems(ports, nullable=()):
    """{variable: port} -> one sentence per variable whose value is not a port from 1 to 65535.

    A port is a whole number or a string of digits (an extra var given as text). The value's text decides, so a
    boolean (True, which `| int` would take for port 1), a float or a negative number is not one. None is accepted
    for the variables named in nullable only: a host port that stays unpublished.
    """
    problems = []
    for variable, port in ports.items():
        if port is None and variable in nullable:
            continue
        if not _DIGITS.fullmatch(str(port)) or not 1 <= int(port) <= 65535:
            alternative = " or null" if variable in nullable else ""
            problems.append(f"{variable} must be a port from 1 to 65535{alternative}, got {port!r}.")
    return problems


def port_clashes(published):
    """{variable: [address, port] or None} -> the pairs of variables that would listen on the same host socket.

    A wildcard address (0.0.0.0, ::) takes the port on every address.
    """
    taken, clashes = [], []
    for variable, socket in published.items():
        if not socket or socket[1] is None:
            continue
        address, port = str(socket[0]), int(socket[1])
        for other, other_address, other_port in taken:
            if port == other_port and (address == other_address or {address, other_address} & _WILDCARDS):
                clashes.append(f"{other} ({other_address}:{other_port}) and {variable} ({address}:{port})")
        taken.append((variable, address, port))
    return clashes


def _loopback(address) -> bool:
    text = str(address).strip("[]")
    if text == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def exposure_problems(published, public_address, private_address=None, multi_host=False):
    """With a public address that is not loopback, the published sockets that would be reachable beyond loopback.

    published: {variable: [address, port] or None}, the host's other published ports (not the entry point's). Each
    must be on a loopback address; on a stack over several hosts the host's private address is allowed too (the
    other hosts connect there), unless it is the public address itself.
    """
    if _loopback(public_address):
        return []
    public = str(public_address)
    private = None if private_address is None else str(private_address)
    problems = []
    if multi_host and private is not None and (private == public or public in _WILDCARDS):
        problems.append(
            f"llm_gateway_public_address {public!r} covers this host's private address {private!r}, where the "
            "services the other hosts use are published: give the entry point another address (the public one)"
        )
    for variable, socket in published.items():
        if not socket or socket[1] is None:
            continue
        address = str(socket[0])
        if _loopback(address) or (multi_host and address == private and address != public):
            continue
        allowed = "127.0.0.1" + (f" or the private address {private}" if multi_host and private else "")
        problems.append(
            f"{variable} publishes port {socket[1]} on {address!r} while the TLS entry point is public "
            f"({public!r}): only the entry point may be published beyond loopback, so publish it on {allowed} "
            "(its *_bind_address) or set it to null"
        )
    return problems


def image_problems(images, require_digest=False):
    """{service: image reference} -> what is wrong with each: a tag always; a digest, when given, sha256:<64 hex>.

    With require_digest, every reference must carry its digest too (name:tag@sha256:...).
    """
    problems = []
    for service, reference in (images or {}).items():
        match = _IMAGE.match(reference) if isinstance(reference, str) else None
        if not match or not match.group("tag"):
            problems.append(f"{service}: {reference!r} is not name:tag or name:tag@sha256:<64 hex digits>")
            continue
        digest = match.group("digest")
        if digest is not None and not _DIGEST.match(digest):
            problems.append(f"{service}: {reference!r} has the digest {digest!r}: give sha256: and 64 lowercase hex digits")
        elif digest is None and require_digest:
            problems.append(f"{service}: {reference!r} has no digest: pin it as {reference}@sha256:<its 64 hex digits>")
    return problems


class FilterModule:
    def filters(self):
        return {
            "model_list_problems": model_list_problems,
            "key_problems": key_problems,
            "env_problems": env_problems,
            "port_problems": port_problems,
            "port_clashes": port_clashes,
            "exposure_problems": exposure_problems,
            "backend_problems": backend_problems,
            "image_problems": image_problems,
        }
