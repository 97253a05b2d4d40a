# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import annotations

DOCUMENTATION = r"""
name: llm_gateway_vault
short_description: Load an inventory's vault files, with an error that says what to do when one will not decrypt
description:
  - Loads every C(*.vault.yml) file of the inventory's C(vault/) folder (for example
    C(inventories/prod/vault/secrets.vault.yml)) as variables of the group C(llm_gateway).
  - Files in C(group_vars/) that will not decrypt stop Ansible with only "Decryption failed"; this plugin names the file
    and the vault identity it was encrypted for, and the C(--vault-id) option that opens it.
  - The files are written by the C(vault_vars_file) action (roles C(llm_gateway_secrets) and C(litellm_keys)).
options:
  stage:
    description:
      - Runs once, after the inventory is parsed, by default. Run at every task (V(all) or V(task)), it
        copied the vault files' values again for each task and host, most of a no-op run's variable work.
      - A file the run itself writes is not read again either way (Ansible's loader caches each file it read).
    default: inventory
    version_added: 2.8.0
    ini:
      - key: stage
        section: vars_llm_gateway_vault
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
extends_documentation_fragment:
  - vars_plugin_staging
"""

import glob
import os

from ansible.errors import AnsibleError
from ansible.inventory.group import Group
from ansible.plugins.vars import BaseVarsPlugin

GROUP = "llm_gateway"


class VarsModule(BaseVarsPlugin):
    is_stateless = True

    def get_vars(self, loader, path, entities, cache=True):
        super().get_vars(loader, path, entities)
        if not any(isinstance(entity, Group) and entity.name == GROUP for entity in entities):
            return {}
        data = {}
        for vault_file in sorted(glob.glob(os.path.join(self._basedir, "vault", "*.vault.yml"))):
            try:
                data.update(loader.load_from_file(vault_file, cache="all") or {})
            except AnsibleError as e:
                raise AnsibleError(_cannot_open(vault_file)) from e
        return data


def _cannot_open(vault_file):
    with open(vault_file, "rb") as f:
        fields = f.readline().decode("ascii", "replace").strip().split(";")
    if fields[0] != "$ANSIBLE_VAULT":
        return f"{vault_file} is not vault-encrypted: encrypt it (ansible-vault encrypt) or move it out of the vault folder."
    label = fields[3] if len(fields) > 3 else "default"
    return (
        f"Cannot decrypt {vault_file}: it is encrypted for vault identity '{label}' and no password of this run opens it. "
        f"Run again with --vault-id {label}@prompt (or --vault-id {label}@/path/to/password-file)."
    )
