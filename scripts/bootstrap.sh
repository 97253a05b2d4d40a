#!/usr/bin/env bash
# Create the controller toolchain: .venv (pinned Python 3.12, requirements.txt), the pinned collections and the
# link that makes this repository the collection llm_gateway.stack.
# Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON_VERSION=3.12
find_python() {
  # A pyenv shim answers `command -v` without being runnable: try each candidate for real.
  for candidate in "$HOME/.pyenv/versions/$PYTHON_VERSION".*/bin/python "python$PYTHON_VERSION"; do
    if "$candidate" -c 'import venv' >/dev/null 2>&1; then command -v "$candidate"; return; fi
  done
  echo "Python $PYTHON_VERSION not found: install it (pyenv install $PYTHON_VERSION or apt) and retry" >&2
  exit 1
}
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import sys; assert sys.version.startswith('$PYTHON_VERSION')" 2>/dev/null; then
  rm -rf .venv
  "$(find_python)" -m venv .venv
fi
if ! .venv/bin/pip freeze --all 2>/dev/null | sort | comm -13 - <(sort requirements.txt) | grep -q .; then
  echo "python requirements already installed"
else
  .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt
fi
scripts/install-collections.sh .venv/bin/python
# This repository is the collection llm_gateway.stack: a link in the collections path lets ansible-playbook find
# its roles and plugins as they are edited, without building and installing it after each change.
link=.collections/ansible_collections/llm_gateway/stack
if [ "$(readlink "$link" 2>/dev/null)" != ../../.. ]; then
  mkdir -p "$(dirname "$link")" && ln -sfn ../../.. "$link"
fi
