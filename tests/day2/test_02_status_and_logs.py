"""status.yml and logs.yml: read-only, changed=0 every time; clear failures."""

from __future__ import annotations

import subprocess
import time
import textwrap

import yaml

from day2lib import CONTAINERS, INVENTORY, REPO, SETTINGS, ansible_env, playbook, snapshot, wait_healthy

# Every service the playbooks know, in their order; this stack runs them all (a worker per CPU: Redis too).
SERVICES = ["postgres-phoenix", "postgres-litellm", "phoenix", "litellm", "redis", "litellm-balancer", "reasoning-api"]


def test_status_reports_every_service_healthy_and_the_urls():
    for _ in range(2):  # a second run changes nothing either
        run = playbook("playbooks/status.yml")
        assert run.rc == 0, run
        assert run.changed == 0, run
    for service in SERVICES:
        assert any(
            line.split()[:4] == [service, CONTAINERS[service], "running", "healthy"] for line in run.output.splitlines()
        ), f"no healthy line for {service}:\n{run.tail()}"
    assert "LiteLLM readiness: HTTP 200, db connected" in run.output
    assert f"Phoenix UI:        http://127.0.0.1:{SETTINGS['phoenix_published_http_port']}" in run.output
    litellm = f"http://127.0.0.1:{SETTINGS['litellm_published_port']}"
    assert f"LiteLLM:           {litellm}  (admin UI: {litellm}/ui)" in run.output
    assert f"reasoning-api:     http://127.0.0.1:{SETTINGS['reasoning_api_published_port']}" in run.output


def test_status_fails_after_printing_when_a_service_is_down():
    app = CONTAINERS["reasoning-api"]
    subprocess.run(["docker", "stop", app], check=True, capture_output=True)
    try:
        run = playbook("playbooks/status.yml")
    finally:
        subprocess.run(["docker", "start", app], check=True, capture_output=True)
        wait_healthy(app, 120)
    assert run.rc != 0, run
    assert run.changed == 0, run
    assert "LiteLLM readiness: HTTP 200" in run.output  # the summary came first
    assert f"Not healthy: reasoning-api ({app} on localhost: exited" in run.text, run
    assert "playbooks/logs.yml -e service=NAME" in run.text


def test_logs_shows_the_last_lines_of_litellm():
    for _ in range(2):
        run = playbook("playbooks/logs.yml", "-e", "service=litellm", "-e", "lines=20")
        assert run.rc == 0, run
        assert run.changed == 0, run
    body = run.output.split("TASK [Show the log of litellm]", 1)[1].split("TASK [", 1)[0]
    # The message as YAML, whichever style the callback chose for it (a block, or a quoted and wrapped string).
    shown = yaml.safe_load(textwrap.dedent(body.split("=>", 1)[1].split("\n", 1)[1]))["msg"]
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    assert lines[0] == f"== litellm (container {CONTAINERS['litellm']} on localhost): last 20 lines ==", body
    assert 0 < len(lines) - 1 <= 20, body
    assert "/health/readiness" in body  # LiteLLM's own access log (its health probe)


def test_logs_default_to_100_lines():
    run = playbook("playbooks/logs.yml", "-e", "service=postgres-phoenix")
    assert run.rc == 0, run
    assert f"== postgres-phoenix (container {CONTAINERS['postgres-phoenix']} on localhost): last 100 lines ==" in run.text


def test_logs_of_an_unknown_service_fail_first_with_the_valid_names():
    before = snapshot()
    run = playbook("playbooks/logs.yml", "-e", "service=postgres")
    assert run.rc != 0, run
    assert run.recap["ok"] == 0 and run.changed == 0, run
    assert "Unknown service 'postgres'. Valid names: " + ", ".join(SERVICES) in run.text, run
    assert snapshot() == before


def test_logs_follow_streams_new_lines_until_stopped(tmp_path):
    """`make logs SERVICE=litellm FOLLOW=1` runs scripts/logs-follow.sh: the last lines, then every new one."""
    out = tmp_path / "follow.out"
    header = f"== following litellm: docker logs --follow --tail 2 {CONTAINERS['litellm']} (Ctrl-C to stop) =="
    with out.open("w") as sink:
        follow = subprocess.Popen([str(REPO / "scripts/logs-follow.sh"), str(INVENTORY), "litellm", "2"], cwd=REPO,
                                  env=ansible_env(), stdout=sink, stderr=subprocess.STDOUT, text=True)
        try:
            # The playbook first (slow on a busy host), then the follow: LiteLLM logs each health probe, every 10 s.
            deadline = time.monotonic() + 240
            while not (header in out.read_text()
                       and len(out.read_text().split(header, 1)[1].strip().splitlines()) > 2):  # more than it started with
                assert follow.poll() is None, out.read_text()  # still running: following
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(1)
            assert follow.poll() is None, out.read_text()
        finally:
            follow.terminate()
            follow.wait(timeout=30)


def test_logs_follow_of_an_unknown_service_fails_with_the_valid_names():
    run = subprocess.run([str(REPO / "scripts/logs-follow.sh"), str(INVENTORY), "postgres"], cwd=REPO, env=ansible_env(),
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    assert "Unknown service 'postgres'" in run.stdout + run.stderr
