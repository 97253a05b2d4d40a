"""What a person reads: a wait prints as a wait (the progress callback), never as FAILED; `make help` lists every
target of the Makefile with its purpose; `make logs ... FOLLOW=1` follows instead of printing once."""

import os
import pathlib
import re
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"

# A task that fails twice, then passes (a marker file counts the attempts), and one that never passes.
WAIT_PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: Wait for the marker
      ansible.builtin.shell: echo x >> {marker}; test $(wc -l < {marker}) -ge 3
      register: attempt
      until: attempt.rc == 0
      retries: 5
      delay: 1
      changed_when: false
    - name: Wait for something that never comes
      ansible.builtin.command: "false"
      register: never
      until: never.rc == 0
      retries: 2
      delay: 1
      changed_when: false
"""


def test_a_retried_task_prints_what_it_waits_for_and_never_failed_retrying(tmp_path):
    playbook = tmp_path / "wait.yml"
    playbook.write_text(WAIT_PLAYBOOK.format(marker=tmp_path / "marker"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")

    run = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook),
                          "-e", "ansible_python_interpreter=" + sys.executable], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)

    assert "FAILED - RETRYING" not in run.stdout, run.stdout
    assert re.search(r"^\.\.\. still waiting: \[localhost\]: Wait for the marker \(\d+ s so far, gives up after 5 s\)$",
                     run.stdout, re.M), run.stdout
    # Running out of retries is still a failure, reported as one.
    assert run.returncode != 0
    assert re.search(r"^fatal: \[localhost\]: FAILED! =>", run.stdout, re.M), run.stdout
    assert "Wait for something that never comes" in run.stdout.split("fatal:")[0]


def _make_targets():
    return re.findall(r"^([a-zA-Z0-9_-]+):", (ROOT / "Makefile").read_text(), re.M)


def test_make_help_lists_every_target_with_a_purpose():
    run = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True, timeout=30)

    assert run.returncode == 0, run.stderr
    listed = {line.split()[0]: line.split(None, 1)[1] for line in run.stdout.splitlines() if line.strip()}
    targets = _make_targets()
    assert len(targets) > 15
    assert sorted(listed) == sorted(targets)
    assert all(len(purpose) > 10 for purpose in listed.values()), listed


def test_make_logs_follows_with_follow_and_prints_once_without():
    # --no-print-directory: under `make test` this make is a sub-make, which would print "Entering directory".
    follow = subprocess.run(["make", "--no-print-directory", "-n", "logs", "SERVICE=litellm", "FOLLOW=1", "LINES=5"],
                            cwd=ROOT, capture_output=True, text=True, timeout=30)
    once = subprocess.run(["make", "--no-print-directory", "-n", "logs", "SERVICE=litellm"], cwd=ROOT,
                          capture_output=True, text=True, timeout=30)

    assert follow.stdout.split() == ["scripts/logs-follow.sh", "inventories/dev", "litellm", "5"]
    assert "playbooks/logs.yml -e service=litellm -e lines=100" in once.stdout
    assert "logs-follow" not in once.stdout
