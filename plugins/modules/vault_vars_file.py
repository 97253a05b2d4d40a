#!/usr/bin/python
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# The work is done on the controller by plugins/action/vault_vars_file.py; this file carries its documentation.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vault_vars_file
short_description: Write variables into an ansible-vault encrypted vars file on the controller, idempotently
description:
  - Runs on the controller (action plugin). Decrypts O(path) with the vault identities the run was started with,
    compares the variables of O(content) with those in the file, and only when they differ encrypts the file's
    variables, updated with O(content), with the identity O(vault_id) and replaces the file atomically (temporary
    file in the same directory, then rename), mode 0600.
  - Top-level variables of the file that O(content) does not name are kept as they are, so an operator may add their
    own variables to the same file.
  - Reading, comparing and writing happen under an exclusive lock on the file's folder, so two runs on one
    inventory never interleave. A run that waits says which process holds the lock; after O(lock_timeout) seconds it
    fails, naming that process.
  - With O(expect), the write is refused when the file's values of those variables are no longer the ones this run
    read, because another run wrote them in the meantime and overwriting would lose its secrets.
  - Re-encrypting identical content would change the file at every run; comparing plaintext keeps it byte-identical.
  - In check mode nothing is written. In diff mode the names of new and changed variables are shown, never a value.
options:
  path:
    description: Vars file on the controller, e.g. C(inventories/dev/vault/secrets.vault.yml).
    type: path
    required: true
  content:
    description: The top-level variables this task manages and the values the file must hold for them.
    type: dict
    required: true
  expect:
    description:
      - The values of the managed variables as this run read them (an absent variable as an empty value).
      - When the file holds other values for them, nothing is written and the task fails.
    type: dict
  lock_timeout:
    description: Seconds to wait for another run's lock on the vault folder before failing.
    type: int
    default: 120
  vault_id:
    description: Label of the vault identity to encrypt with (C(dev), C(prod), ...); its password must be loaded.
    type: str
    required: true
notes:
  - The lock is a C(flock) on the folder, released by the kernel when its holder exits, so it cannot go stale.
  - Fails with a message that says what to do when the file exists but is not encrypted, cannot be decrypted with
    the loaded identities, or no password of O(vault_id) is loaded.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  platform:
    support: full
    platforms: posix
    details: Runs on the controller, whatever the target.
author:
  - llm-gateway-ansible contributors !UNKNOWN
"""

EXAMPLES = r"""
- name: Keep the stack's secrets in the inventory's vault
  llm_gateway.stack.vault_vars_file:
    path: "{{ inventory_dir }}/vault/secrets.vault.yml"
    vault_id: prod
    content:
      llm_gateway_secrets: "{{ secrets }}"
    expect:
      llm_gateway_secrets: "{{ secrets_as_read }}"
  delegate_to: localhost
  run_once: true
  no_log: true
"""

RETURN = r"""
path:
  description: The vars file.
  returned: always
  type: str
variables:
  description: Names of the top-level variables the file holds.
  returned: always
  type: list
  elements: str
"""
