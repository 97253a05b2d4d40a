"""deployment_record: a host is unchanged only when it is exactly as the recorded complete deploy left it; the
record holds digests only; forget removes it. Docker is replaced by canned answers of its command line."""

import json

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.llm_gateway.stack.plugins.modules import deployment_record

LABEL = "llm-gateway.stack=llm-gateway"
INPUTS = "a" * 64


class FakeDocker:
    """Answers the module's docker and iptables commands from a dict of containers and image tags."""

    def __init__(self, config_file):
        self.config_file = str(config_file)
        self.containers = {
            "phoenix": {"Id": "c1", "Image": "sha256:p1", "Config": {"Image": "phoenix:1"},
                        "State": {"Status": "running", "Health": {"Status": "healthy"},
                                  "StartedAt": "2026-01-01T10:00:00.123456789Z"},
                        "Mounts": [{"Type": "bind", "Source": self.config_file, "RW": False}]},
            "litellm": {"Id": "c2", "Image": "sha256:l1", "Config": {"Image": "litellm:1"},
                        "State": {"Status": "running"}, "Mounts": []},
        }
        self.tags = {"phoenix:1": "sha256:p1", "litellm:1": "sha256:l1"}
        self.chains = {"LLM-GATEWAY-5432": "-N LLM-GATEWAY-5432\n-A LLM-GATEWAY-5432 -s 10.0.0.2/32 -j RETURN\n"}

    def run_command(self, args, check_rc=False):
        if args[:2] == ["docker", "ps"]:
            return 0, "\n".join(c["Id"] for c in self.containers.values()), ""
        if args[:2] == ["docker", "inspect"]:
            return 0, json.dumps([dict(c, Name="/" + n) for n, c in self.containers.items() if c["Id"] in args]), ""
        if args[:3] == ["docker", "image", "inspect"]:
            refs = args[5:]
            if any(ref not in self.tags for ref in refs):
                return 1, "", "No such image"
            return 0, "\n".join(self.tags[ref] for ref in refs), ""
        if args[:2] == ["docker", "info"]:
            return 0, "2\n", ""
        if args[0] == "iptables":
            chain = args[-1]
            if chain == "DOCKER-USER":
                return 0, "-N DOCKER-USER\n-A DOCKER-USER -j LLM-GATEWAY-5432\n-A DOCKER-USER -j RETURN\n", ""
            return (0, self.chains[chain], "") if chain in self.chains else (1, "", "No chain")
        raise AssertionError(args)


@pytest.fixture
def host(tmp_path, monkeypatch):
    config = tmp_path / "config.yaml"
    config.write_text("model_list: []\n")
    docker = FakeDocker(config)
    monkeypatch.setattr(deployment_record.AnsibleModule, "run_command",
                        lambda self, args, check_rc=False, **kw: docker.run_command(args, check_rc))
    docker.installed = {"docker", "iptables"}
    monkeypatch.setattr(deployment_record.AnsibleModule, "get_bin_path",
                        lambda self, name, *a, **kw: name if name in docker.installed else None)
    docker.record = tmp_path / "state" / "record.json"
    docker.config = config
    return docker


def run(host, state="check", inputs=INPUTS, check_mode=False):
    args = {"path": str(host.record), "label": LABEL, "inputs": inputs, "state": state,
            "firewall_chains": ["LLM-GATEWAY-5432"], "_ansible_check_mode": check_mode}
    with patch_module_args(args), pytest.raises(SystemExit):
        deployment_record.main()


def result(capsys):
    return json.loads(capsys.readouterr().out)


def test_without_a_record_the_host_is_changed(host, capsys):
    run(host)
    out = result(capsys)
    assert out["unchanged"] is False and out["changed"] is False
    assert out["reasons"] == ["no complete deploy is recorded on this host"]


def test_after_a_record_the_same_host_and_inputs_are_unchanged_and_the_record_holds_digests_only(host, capsys):
    run(host, "record")
    written = result(capsys)
    assert written["changed"] is True
    # The summary after a complete deploy lists the containers from here, as after a skipped run.
    assert [c["Names"] for c in written["docker_containers"]] == [["/litellm"], ["/phoenix"]]
    record = json.loads(host.record.read_text())
    assert set(record) == {"inputs", "state", "recorded"}
    assert oct(host.record.stat().st_mode & 0o777) == "0o600"
    assert "model_list" not in host.record.read_text()
    run(host)
    out = result(capsys)
    assert out["unchanged"] is True and out["reasons"] == [] and out["containers"] == 2
    # As docker_host_info lists them, for the summary.
    assert out["docker_containers"] == [
        {"Names": ["/litellm"], "State": "running", "Status": "Running", "Image": "litellm:1"},
        {"Names": ["/phoenix"], "State": "running", "Status": "Running (healthy)", "Image": "phoenix:1"}]
    run(host, "record")
    assert result(capsys)["changed"] is False


@pytest.mark.parametrize("drift, reason", [
    ("inputs", "the inputs changed"),
    ("config", "their configuration files or the firewall changed"),
    ("firewall", "their configuration files or the firewall changed"),
    ("recreated", "their configuration files or the firewall changed"),
    ("stopped", "litellm is exited"),
    ("unhealthy", "phoenix is unhealthy"),
    ("retagged", "phoenix runs another image than phoenix:1 names now"),
    ("untagged", "no longer names an image"),
    ("removed", "no container of the stack exists"),
])
def test_any_drift_makes_the_host_changed_and_says_what(host, capsys, drift, reason):
    run(host, "record")
    capsys.readouterr()
    inputs = "b" * 64 if drift == "inputs" else INPUTS
    if drift == "config":
        host.config.write_text("model_list: [edited by hand]\n")
    elif drift == "firewall":
        del host.chains["LLM-GATEWAY-5432"]
    elif drift == "recreated":
        host.containers["litellm"]["Id"] = "c3"
    elif drift == "stopped":
        host.containers["litellm"]["State"]["Status"] = "exited"
    elif drift == "unhealthy":
        host.containers["phoenix"]["State"]["Health"]["Status"] = "unhealthy"
    elif drift == "retagged":
        host.tags["phoenix:1"] = "sha256:p2"
    elif drift == "untagged":
        del host.tags["phoenix:1"]
    elif drift == "removed":
        host.containers.clear()
    run(host, inputs=inputs)
    out = result(capsys)
    assert out["unchanged"] is False
    assert any(reason in line for line in out["reasons"]), out["reasons"]


def test_forget_removes_the_record_and_check_mode_keeps_it(host, capsys):
    run(host, "record")
    run(host, "forget", check_mode=True)
    capsys.readouterr()
    assert host.record.exists()
    run(host, "forget")
    assert result(capsys)["changed"] is True
    assert not host.record.exists()
    run(host, "forget")
    assert result(capsys)["changed"] is False


def test_check_mode_records_nothing(host, capsys):
    run(host, "record", check_mode=True)
    assert result(capsys)["changed"] is True
    assert not host.record.exists()


def test_a_host_that_cannot_be_vouched_for_is_not_recorded(host, capsys):
    run(host, "record")
    capsys.readouterr()
    host.tags["phoenix:1"] = "sha256:p2"
    run(host, "record")
    out = result(capsys)
    assert out["changed"] is False and "phoenix runs another image than phoenix:1 names now" in out["reasons"]
    assert not host.record.exists()


@pytest.mark.parametrize("started, unchanged", [("2026-01-01T10:00:00.1Z", True), ("2999-01-01T00:00:00.1Z", False)])
def test_a_starting_health_check_counts_only_for_a_container_started_after_the_record(host, capsys, started, unchanged):
    run(host, "record")
    capsys.readouterr()
    host.containers["phoenix"]["State"].update(StartedAt=started, Health={"Status": "starting"})
    run(host)
    out = result(capsys)
    assert out["unchanged"] is unchanged, out["reasons"]
    assert out["reasons"] == ([] if unchanged else ["phoenix is starting"])


def test_a_host_without_docker_yet_is_changed_and_not_recorded(host, capsys):
    host.installed = {"iptables"}
    run(host)
    out = result(capsys)
    assert out["unchanged"] is False and out["changed"] is False
    run(host, "record")
    out = result(capsys)
    assert out["changed"] is False and out["reasons"] == ["Docker is not installed on this host yet"]
    assert not host.record.exists()


def test_without_iptables_the_firewall_counts_as_absent(host, capsys):
    host.installed = {"docker"}
    run(host, "record")
    run(host)
    capsys.readouterr()
    host.installed = {"docker", "iptables"}
    run(host)
    assert "their configuration files or the firewall changed" in " ".join(result(capsys)["reasons"])
