"""Rolling changes of a deployed stack with two LiteLLM replicas behind the balancer, under steady traffic.

Run by `molecule test -s rolling` (its verifier), after the scenario converged on LiteLLM's earlier release. The test
files run in name order and build on each other (configuration change → restart → upgrade), so run the whole
directory. By hand, from the repository root, against a converged rolling scenario:
    pytest tests/rolling --hosts local://
Settings (defaults fit molecule/rolling):
  ROLLING_INVENTORY            the inventory's hosts file; its group_vars/llm_gateway/main.yml gives names and ports
  ROLLING_VAULT_PASSWORD_FILE  the test vault password (identity "test")
Helpers live in rollinglib.py; every playbook run's output is kept in .test-results/rolling-logs/.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="session")
def http():
    with httpx.Client(timeout=60) as client:
        yield client
