#!/usr/bin/env python3
"""Benchmark litellm_virtual_key: ensure N keys (default 100) against a running LiteLLM, then again (no-op).

Prints wall time and HTTP requests (from the module's own `requests` counters) per run. Not a test.

    LITELLM_BENCH_URL=http://127.0.0.1:4000 LITELLM_BENCH_MASTER_KEY=sk-... .venv/bin/python bench/keys_bench.py
    .venv/bin/python bench/keys_bench.py --containers      # start itest-* containers as the integration tests do

See bench/README.md.
"""

import argparse
import importlib.util
import json
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
MODULE = REPO / "library" / "litellm_virtual_key.py"

# Runs the module file the way Ansible runs it (its own process, arguments from a JSON file), with the project's
# module_utils importable as ansible.module_utils.*.
BOOTSTRAP = (
    "import sys, runpy, ansible.module_utils as m; m.__path__.append(%r); "
    "runpy.run_path(%r, run_name='__main__')" % (str(REPO / "module_utils"), str(MODULE))
)

PLAYBOOK = """\
- hosts: localhost
  gather_facts: false
  tasks:
    - litellm_virtual_key:
        url: "{{ p.url }}"
        master_key: "{{ p.master_key }}"
        keys: "{{ p['keys'] }}"
"""


def run_module_process(params, work):
    args = work / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": params}))
    args.chmod(0o600)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", BOOTSTRAP, str(args)], capture_output=True, text=True)
    elapsed = time.monotonic() - started
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        sys.exit("the module printed no JSON (rc %d):\n%s\n%s" % (proc.returncode, proc.stdout[-2000:],
                                                                proc.stderr[-2000:]))
    if result.get("failed"):
        sys.exit("the module failed: %s" % result.get("msg"))
    return elapsed, result


def run_playbook(params, work):
    (work / "playbook.yml").write_text(PLAYBOOK)
    (work / "vars.json").write_text(json.dumps({"p": params}))
    (work / "vars.json").chmod(0o600)
    (work / "inventory.ini").write_text(
        "localhost ansible_connection=local ansible_python_interpreter=%s\n" % sys.executable)
    (work / "ansible.cfg").write_text("[defaults]\nlibrary = %s\nmodule_utils = %s\nretry_files_enabled = false\n"
                                      % (REPO / "library", REPO / "module_utils"))
    env = dict(os.environ, ANSIBLE_CONFIG=str(work / "ansible.cfg"))
    cmd = [str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "-i", str(work / "inventory.ini"),
           "-e", "@%s" % (work / "vars.json"), str(work / "playbook.yml")]
    started = time.monotonic()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    elapsed = time.monotonic() - started
    if proc.returncode != 0:
        sys.exit("ansible-playbook failed (rc %d):\n%s" % (proc.returncode, proc.stdout[-3000:]))
    return elapsed


def load_integration_fixtures():
    spec = importlib.util.spec_from_file_location("itest_conftest", REPO / "tests" / "integration" / "conftest.py")
    conftest = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conftest)
    return conftest


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keys", type=int, default=100, help="number of keys (default 100)")
    parser.add_argument("--containers", action="store_true",
                        help="start PostgreSQL and LiteLLM containers as the integration tests do")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's keys in LiteLLM")
    options = parser.parse_args()

    conftest = None
    url = os.environ.get("LITELLM_BENCH_URL") or os.environ.get("LITELLM_TEST_URL")
    master_key = os.environ.get("LITELLM_BENCH_MASTER_KEY") or os.environ.get("LITELLM_TEST_MASTER_KEY")
    if options.containers:
        conftest = load_integration_fixtures()
        print("starting PostgreSQL and LiteLLM containers (about a minute)...", file=sys.stderr)
        proxy = conftest.start_containers(tempfile.mkdtemp(prefix="keys-bench-"))
        url, master_key = proxy.url, proxy.master_key
    elif not (url and master_key):
        sys.exit("set LITELLM_BENCH_URL and LITELLM_BENCH_MASTER_KEY (or LITELLM_TEST_*), or pass --containers")

    run_id = secrets.token_hex(3)
    keys = [{"alias": "bench-%s-%03d" % (run_id, i), "secret": "sk-bench-" + secrets.token_urlsafe(32),
             "metadata": {"environment": "bench", "index": i}} for i in range(options.keys)]
    params = {"url": url, "master_key": master_key, "keys": keys}
    rows = []
    try:
        with tempfile.TemporaryDirectory(prefix="keys-bench-") as work:
            work = pathlib.Path(work)
            for label in ("first run (create)", "no-op run", "no-op run again"):
                elapsed, result = run_module_process(params, work)
                rows.append((label, "module process", elapsed, result["requests"], result["changed"]))
            elapsed = run_playbook(params, work)
            rows.append(("no-op run", "ansible-playbook", elapsed, None, None))
            if not options.keep:
                absent = dict(params, keys=[{"alias": k["alias"], "state": "absent"} for k in keys])
                elapsed, result = run_module_process(absent, work)
                rows.append(("delete all (absent)", "module process", elapsed, result["requests"], result["changed"]))
    finally:
        if conftest is not None:
            conftest.remove_resources(only_stale=False)

    print("\nlitellm_virtual_key, %d keys, LiteLLM at %s\n" % (options.keys, url))
    print("| run | how | wall time (s) | HTTP read | HTTP write | changed |")
    print("|---|---|---:|---:|---:|---|")
    for label, how, elapsed, requests, changed in rows:
        print("| %s | %s | %.2f | %s | %s | %s |" % (
            label, how, elapsed, requests["read"] if requests else "-", requests["write"] if requests else "-",
            "-" if changed is None else changed))
    noop = [r for r in rows if r[0] == "no-op run" and r[1] == "module process"][0]
    total = noop[3]["read"] + noop[3]["write"]
    goal = total <= 2 and noop[2] < 2.0
    print("\nno-op goal (<= 2 requests per %d keys, < 2 s): %s (%d requests, %.2f s)"
          % (options.keys, "met" if goal else "NOT met", total, noop[2]))


if __name__ == "__main__":
    main()
