#!/usr/bin/env bash
# The project's whole test suite, as CI runs it (README: `make test`):
#   toolchain → offline images → lint and syntax → unit tests (the built collection among them)
#   → ansible-test sanity and units on the installed collection → module integration tests (real LiteLLM)
#   → molecule test (full stack: converge, idempotence, check, end-to-end verify, destroy)
#   → molecule test -s day2 (compose migration, ops playbooks, upgrade, reset, settings changes, teardown on a
#     second, isolated stack), started right after the images and run alongside the other steps
#   → molecule test -s rolling (two LiteLLM replicas behind the balancer: configuration change, restart and upgrade
#     under traffic with no failed request, on a third stack), also in the background, after LiteLLM's earlier
#     release is built (images/build.sh litellm-previous).
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
# The day-2 scenario is the longest step and mostly waits on services: it runs on its own stack (day2-* names, ports,
# network) alongside the steps below, its output kept in a log printed when it ends.
day2_log=$results/molecule-day2.log day2_start=$SECONDS
molecule test -s day2 >"$day2_log" 2>&1 &
day2_pid=$!
# The rolling scenario mostly waits on LiteLLM's starts too: same pattern, on its own stack (rolling-* names).
rolling_log=$results/molecule-rolling.log rolling_start=$SECONDS
{ images/build.sh litellm-previous && molecule test -s rolling; } >"$rolling_log" 2>&1 &
rolling_pid=$!
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
step molecule molecule test
echo "=== molecule-day2 (started after the images)"
if wait "$day2_pid"; then day2_status=ok; else day2_status=FAILED; failed_steps+=(molecule-day2); fi
cat "$day2_log"
seconds[molecule-day2]=$((SECONDS - day2_start))
echo "=== molecule-day2: $day2_status (${seconds[molecule-day2]} s from its start)"
echo "=== molecule-rolling (started after the images)"
if wait "$rolling_pid"; then rolling_status=ok; else rolling_status=FAILED; failed_steps+=(molecule-rolling); fi
cat "$rolling_log"
seconds[molecule-rolling]=$((SECONDS - rolling_start))
echo "=== molecule-rolling: $rolling_status (${seconds[molecule-rolling]} s from its start)"

# Sum the JUnit reports (molecule's verifier writes e2e.xml); a step that ran no test counts as a failure.
.venv/bin/python - "$results" <<'PY'
import pathlib, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for report in sorted(pathlib.Path(sys.argv[1]).glob("*.xml")):
    for suite in ET.parse(report).getroot().iter("testsuite"):
        tests, fail = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        skip = int(suite.get("skipped", 0))
        print(f"{report.stem}: {tests - fail - skip} passed, {fail} failed, {skip} skipped")
        passed, failed, skipped = passed + tests - fail - skip, failed + fail, skipped + skip
with open(pathlib.Path(sys.argv[1]) / "summary", "w") as f:
    f.write(f"{passed} {failed} {skipped}\n")
PY
passed=0 failed=0 skipped=0
[ -s "$results/summary" ] && read -r passed failed skipped < "$results/summary"
for report in unit collection-units-python app integration e2e day2 rolling; do
  compgen -G "$results/$report*.xml" >/dev/null || { echo "no test report from $report"; failed_steps+=("$report (no report)"); }
done
[ "$skipped" = 0 ] || failed_steps+=("$skipped skipped tests")
for name in "${!seconds[@]}"; do echo "time $name: ${seconds[$name]} s"; done | sort
if [ ${#failed_steps[@]} -gt 0 ]; then
  echo "failed: ${failed_steps[*]}"
  failed=$((failed > 0 ? failed : 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
