# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Where the stack's services are reached from, derived from the inventory alone.

A service runs on the first host of its inventory group. A container on the same host reaches it over the host's
Docker network by its alias and container port; a container on another host reaches it at the service host's private
address (llm_gateway_private_address) and published port. Docker networks span one host only: see docs/architecture.md.
"""

from __future__ import annotations

import ipaddress


def _is_ip(value) -> bool:
    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return True


def _is_loopback(value) -> bool:
    return _is_ip(value) and ipaddress.ip_address(str(value)).is_loopback


def endpoint(provider_hosts, consumer, hostvars, alias, container_port, published_port):
    """{host, port} at which the host `consumer` reaches the service run by the first of `provider_hosts`.

    A placement that cannot connect raises ValueError, whose message Ansible reports (importing ansible.errors here
    would switch module warnings to the controller's display in the unit tests' process); the preflight's
    link_problems names such a placement before any of this runs.
    """
    if not provider_hosts:
        raise ValueError(f"no inventory host runs the service {alias!r}: give its inventory group a host")
    if consumer in provider_hosts:
        return {"host": alias, "port": int(container_port)}
    provider = provider_hosts[0]
    if published_port is None:
        raise ValueError(
            f"{consumer} reaches {alias!r} on {provider}, but its published port is null: publish it "
            "(the preflight names the variable)"
        )
    return {"host": hostvars[provider]["llm_gateway_private_address"], "port": int(published_port)}


def url(endpoint_, scheme="http", path=""):
    """An endpoint as a URL: url(endpoint, 'http', '/v1/traces')."""
    host = endpoint_["host"]
    if ":" in str(host):  # an IPv6 address
        host = f"[{host}]"
    return f"{scheme}://{host}:{endpoint_['port']}{path}"


def peer_addresses(hosts, service_host, hostvars):
    """Private addresses of the hosts that reach a service on service_host from elsewhere (duplicates dropped)."""
    addresses = []
    for name in hosts:
        address = hostvars[name]["llm_gateway_private_address"]
        if name != service_host and address not in addresses:
            addresses.append(address)
    return addresses


def link_problems(links, groups, hostvars):
    """Placements that cannot work: a group of several hosts; for a cross-host link, a null published port, a loopback
    bind, a private address that is no IP.

    Each link: {consumer: group, provider: group, service: its name, port_variable: name, port: value}.
    """
    problems = []
    for group in dict.fromkeys(name for link in links for name in (link["provider"], link["consumer"])):
        hosts = groups.get(group) or []
        if len(hosts) > 1:
            problems.append(
                f"the inventory group {group!r} has {len(hosts)} hosts ({', '.join(hosts)}), but each service runs on "
                "one host (LiteLLM's replicas too: spreading them over several gateway hosts is not supported): put "
                "one host in it"
            )
    for link in links:
        providers = groups.get(link["provider"]) or []
        if not providers:
            problems.append(f"the inventory group {link['provider']!r} has no host, so nothing runs {link['service']}")
            continue
        provider = providers[0]
        for consumer in groups.get(link["consumer"]) or []:
            if consumer in providers:
                continue
            where = f"{consumer} ({link['consumer']}) reaches {link['service']} on {provider} ({link['provider']})"
            if link["port"] is None:
                problems.append(f"{where}, but {link['port_variable']} is null: give it a port")
            bind = hostvars[provider]["llm_gateway_bind_address"]
            if _is_loopback(bind):
                problems.append(
                    f"{where}, but {provider} publishes its ports on llm_gateway_bind_address {bind!r}, a loopback "
                    "address: leave llm_gateway_bind_address unset (it is then the private address) or give an "
                    "address the other hosts reach"
                )
            address = hostvars[provider]["llm_gateway_private_address"]
            if not _is_ip(address):
                problems.append(
                    f"{where}, but llm_gateway_private_address of {provider} is {address!r}, not an IP address: set "
                    "it (or ansible_host) to the address the other hosts reach it at"
                )
    return sorted(set(problems), key=problems.index)


class FilterModule:
    def filters(self):
        return {
            "endpoint": endpoint,
            "url": url,
            "peer_addresses": peer_addresses,
            "link_problems": link_problems,
        }
