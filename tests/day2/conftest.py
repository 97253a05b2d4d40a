"""Day-2 operations of a deployed stack, driven the way an operator runs them: `ansible-playbook playbooks/X.yml -i INV`.

Run by `molecule test -s day2` (its verifier), after the scenario migrated a seeded compose deployment and converged.
The test files run in name order and build on each other (migration → status/logs → restart → rotation → upgrade →
reset → a last site.yml run), so run the whole directory, not a single file. By hand, from the repository root,
against a converged day2 scenario:
    pytest tests/day2 --hosts local://
Settings (defaults fit molecule/day2):
  DAY2_INVENTORY            the inventory's hosts file; its group_vars/llm_gateway/main.yml gives names and ports
  DAY2_VAULT_PASSWORD_FILE  the test vault password (identity "test")
Helpers live in day2lib.py; every playbook run's output is kept in .test-results/day2-logs/.
"""

from __future__ import annotations

import httpx
import pytest


@pytest.fixture(scope="session")
def http():
    with httpx.Client(timeout=60) as client:
        yield client
