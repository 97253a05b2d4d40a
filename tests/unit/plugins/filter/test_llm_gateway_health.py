"""health_probe: the command that runs a container's Docker health check in it, as Docker runs it."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.filter.llm_gateway_health import health_probe


def test_cmd_runs_its_argv_as_given():
    test = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://localhost:8000/health')"]
    assert health_probe(test) == test[1:]


def test_cmd_shell_runs_its_command_with_sh():
    assert health_probe(["CMD-SHELL", "pg_isready -h 127.0.0.1 | grep -q accepting"]) == [
        "/bin/sh", "-c", "pg_isready -h 127.0.0.1 | grep -q accepting"]


@pytest.mark.parametrize("test", [[], ["NONE"], ["CMD"], ["SHELL", "true"], "CMD-SHELL true", None])
def test_anything_else_is_no_health_check(test):
    with pytest.raises(ValueError, match="no Docker health check command"):
        health_probe(test)
