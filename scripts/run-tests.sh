#!/usr/bin/env bash
# The project's whole test suite, as CI runs it (README: `make test`):
#   toolchain → offline images
#   → in the background from here: molecule test -s day2 (compose migration, ops playbooks, upgrade, reset, settings
#     changes, teardown on a second, isolated stack) and molecule test -s multihost (the stack over four SSH hosts
#     with their own engines, images from a registry)
#   → molecule test (full stack: converge, idempotence, check, end-to-end verify, destroy)
#   → in the background from here: molecule test -s rolling (two LiteLLM replicas behind the balancer: configuration
#     change, restart and upgrade under traffic with no failed request, on a third stack), after LiteLLM's earlier
#     release is built (images/build.sh litellm-previous)
#   → lint and syntax → unit tests (the built collection among them) → ansible-test sanity and units on the
#     installed collection → the app's tests → module integration tests (real LiteLLM)
#   → the background scenarios' logs, as each ends.
# Ends with one plain "N passed, N failed" line summed over every pytest run; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
results=$root/.test-results
rm -rf "$results" && mkdir -p "$results"
export PATH="$root/.venv/bin:$PATH" PYTHONDONTWRITEBYTECODE=1
failed_steps=()
declare -A seconds

step() {  # step NAME COMMAND...: run, time, remember failures, go on
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  if "$@"; then echo "=== $name: ok ($((SECONDS - start)) s)"; else echo "=== $name: FAILED ($((SECONDS - start)) s)"; failed_steps+=("$name"); fi
  seconds[$name]=$((SECONDS - start))
}

step bootstrap scripts/bootstrap.sh
if [ ${#failed_steps[@]} -gt 0 ]; then echo "0 passed, 1 failed"; exit 1; fi  # nothing runs without the toolchain
step images images/build.sh
# The molecule scenarios below mostly wait on services, package installs, image pulls and SSH: each runs on a stack
# of its own (names, ports, networks or hosts) alongside the other steps, its output kept in a log printed when it
# ends. day2 is the longest; rolling first builds LiteLLM's earlier release, its upgrade's starting point.
declare -A bg_pid bg_start
background() {  # background NAME COMMAND...: start a step in the background, its output in NAME's log
  local name=$1; shift
  bg_start[$name]=$SECONDS
  "$@" >"$results/$name.log" 2>&1 &
  bg_pid[$name]=$!
}
collect() {  # collect NAME: wait for a background step, print its log, count it like a step
  local name=$1 status=ok
  echo "=== $name (started after the images)"
  wait "${bg_pid[$name]}" || { status=FAILED; failed_steps+=("$name"); }
  cat "$results/$name.log"
  seconds[$name]=$((SECONDS - bg_start[$name]))
  echo "=== $name: $status (${seconds[$name]} s from its start)"
}
background molecule-day2 molecule test -s day2
background molecule-multihost molecule test -s multihost
# The one-host stack first, while the two stacks above are still being created; the rolling scenario, whose traffic
# keeps half a core busy, only after it: a fourth stack starting at once left LiteLLM unready after 600 s at load 21.
step molecule molecule test
background molecule-rolling bash -c 'images/build.sh litellm-previous && molecule test -s rolling'
step lint ansible-lint --profile production --offline
step syntax ansible-playbook site.yml --syntax-check
step docs python scripts/variables-doc.py --check
# tests/collection builds the collection, installs the artifact and uses it from a playbook outside the repository.
step unit pytest -q -p no:cacheprovider --junitxml="$results/unit.xml" tests/unit tests/fake_openai tests/collection
# ansible-test on the installed artifact: sanity (docs, imports, pylint...) and the collection's unit tests.
step sanity scripts/collection-checks.sh sanity
step collection-units scripts/collection-checks.sh units "$results"
# The reference app has its own dependencies (FastAPI...): its tests run in their own venv.
step app-unit bash -c '[ -x .venv-app/bin/python ] || "$(.venv/bin/python -c "import sys; print(sys._base_executable)")" -m venv .venv-app
  .venv-app/bin/pip install -q --disable-pip-version-check -r app/requirements-dev.txt
  cd app && ../.venv-app/bin/python -m pytest -q -p no:cacheprovider --junitxml="$0/app.xml" tests' "$results"
step integration pytest -q -p no:cacheprovider --junitxml="$results/integration.xml" tests/integration
for name in molecule-day2 molecule-multihost molecule-rolling; do collect "$name"; done

# Sum the JUnit reports (molecule's verifier writes e2e.xml); a step that ran no test counts as a failure.
.venv/bin/python - "$results" <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
failing = []
for report in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    root = ET.parse(report).getroot()
    for suite in root.iter("testsuite"):
        tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        print(f"{report.stem}: {tests - fail - skip} passed, {fail} failed, {skip} skipped")
        passed, failed, skipped = passed + tests - fail - skip, failed + fail, skipped + skip
    for case in root.iter("testcase"):
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        if problem is not None:
            why = " ".join((problem.get("message") or "").split())[:200]
            failing.append(f"{report.stem}: {case.get('classname')}::{case.get('name')}: {why}")
with open(pathlib.Path(sys.argv[1]) / "summary", "w") as f:
    f.write(f"{passed} {failed} {skipped}\n")
with open(pathlib.Path(sys.argv[1]) / "failing", "w") as f:
    f.writelines(f"{name}\n" for name in failing)
PY
passed=0 failed=0 skipped=0
[ -s "$results/summary" ] && read -r passed failed skipped < "$results/summary"
for report in unit collection-units-python app integration e2e day2 multihost rolling; do
  compgen -G "$results/$report*.xml" >/dev/null || { echo "no test report from $report"; failed_steps+=("$report (no report)"); }
done
[ "$skipped" = 0 ] || failed_steps+=("$skipped skipped tests")
for name in "${!seconds[@]}"; do echo "time $name: ${seconds[$name]} s"; done | sort
# The failing tests' names last, where a reader of the output's tail sees them (their logs are further up).
[ ! -s "$results/failing" ] || { echo "failing tests:"; head -n 10 "$results/failing"; }
# A background scenario that failed before its tests ran has no failing test to name: its log's first errors instead.
for name in molecule-day2 molecule-multihost molecule-rolling; do
  [[ " ${failed_steps[*]} " == *" $name "* ]] || continue
  echo "first errors of $name:"
  grep -a -m 8 -E 'fatal: |FAILED! |ERROR |Traceback|CRITICAL' "$results/$name.log" | cut -c 1-300
done
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed: ${failed_steps[*]}"
  failed=$((failed > 0 ? failed : 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
