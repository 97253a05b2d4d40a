# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""How the playbooks run a container's own Docker health check themselves (docker exec), instead of waiting for
Docker's status, which lags the service by up to one check interval."""

from __future__ import annotations


def health_probe(test):
    """Docker's Config.Healthcheck.Test -> the command to run in the container: ["CMD", argv...] runs argv,
    ["CMD-SHELL", "command"] runs the command with /bin/sh, as Docker does.

    Anything else raises ValueError, whose message Ansible reports (importing ansible.errors here would switch module
    warnings to the controller's display in the unit tests' process)."""
    if not isinstance(test, (list, tuple)) or len(test) < 2 or test[0] not in ("CMD", "CMD-SHELL"):
        raise ValueError(f"health_probe: {test!r} is no Docker health check command (CMD or CMD-SHELL)")
    return list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", test[1]]


class FilterModule:
    def filters(self):
        return {"health_probe": health_probe}
