#!/usr/bin/env bash
# ansible-test sanity and units on the collection as users get it: build the artifact, install it into a temporary
# collections tree (ansible-test needs the path .../ansible_collections/llm_gateway/stack) and test it there.
# Usage: scripts/collection-checks.sh sanity|units [RESULTS_DIR]
# Without Docker for ansible-test (--docker), its tools live in venvs it makes from PyPI (--venv); units' JUnit
# reports are copied to RESULTS_DIR/collection-units-*.xml.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
what=$1 results=${2:-}
python_version=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# ansible-test bootstraps pip in its venvs with a script from a host CI cannot reach: give it the stand-in.
pip_version=$(.venv/bin/python -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as P; print(g(P(version="'"$python_version"'"))["pip"])' 2>/dev/null || true)
get_pip=~/.ansible/test/cache/get_pip_${pip_version//./_}.py
[ -z "$pip_version" ] || [ -s "$get_pip" ] || { mkdir -p "$(dirname "$get_pip")" && cp scripts/ansible-test-get-pip.py "$get_pip"; }
cd "$work"  # away from the repository's ansible.cfg, whose collections path links the source tree
"$root/.venv/bin/ansible-galaxy" collection build --output-path "$work" "$root" >/dev/null
"$root/.venv/bin/ansible-galaxy" collection install --offline --no-deps --force -p "$work/collections" \
  "$work"/llm_gateway-stack-*.tar.gz >/dev/null
cd "$work/collections/ansible_collections/llm_gateway/stack"
case $what in
  sanity) "$root/.venv/bin/ansible-test" sanity --venv --python "$python_version" ;;
  units)
    "$root/.venv/bin/ansible-test" units --venv --python "$python_version"
    if [ -n "$results" ]; then  # one JUnit report per unit test group (modules, module_utils, controller)
      for report in tests/output/junit/*.xml; do cp "$report" "$results/collection-units-$(basename "$report")"; done
    fi ;;
  *) echo "usage: $0 sanity|units [RESULTS_DIR]" >&2; exit 2 ;;
esac
