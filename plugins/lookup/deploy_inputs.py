# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A digest of everything a run deploys from, on the controller, and whether the run covers the whole stack."""

from __future__ import annotations

DOCUMENTATION = r"""
name: deploy_inputs
author:
  - llm-gateway-ansible contributors !UNKNOWN
short_description: a digest of what a run deploys from, and whether the run is complete
description:
  - >-
    One SHA-256 over everything on the controller a run of site.yml deploys from: this collection's roles, plugins
    and metadata; the given paths (the playbooks, their group_vars, the app's sources...); every inventory source of
    the run (a folder walked, except its C(tls) folder, which the run writes; a file with the C(group_vars),
    C(host_vars) and C(vault) folders beside it); the extra variables of the command line (a C(@file) read); the
    values of the named environment variables; and the version of ansible-core.
  - >-
    Files are hashed with their content, mode and name relative to the path given (not where that path is); C(__pycache__), C(.git) and C(*.pyc) are left out.
    The environment's values only enter the digest, which is never a way back to them.
  - >-
    Also tells whether the run is complete: no C(--tags) other than C(all), no C(--skip-tags), C(--limit),
    C(--start-at-task) or C(--step). Only a complete run may be recorded as what the hosts run.
options:
  _terms:
    description: Absolute paths of files or folders (a missing one counts as missing).
    type: list
    elements: str
    required: true
  env:
    description: Names of environment variables the inventory reads (for example an API key's fallback).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
inputs: "{{ lookup('llm_gateway.stack.deploy_inputs', playbook_dir, playbook_dir ~ '/../app', env=['OPENAI_API_KEY']) }}"
"""

RETURN = r"""
_raw:
  description: One mapping.
  type: list
  elements: dict
  contains:
    digest:
      description: The hexadecimal SHA-256 digest.
      type: str
    complete:
      description: Whether the run covers every host and every task.
      type: bool
"""

import os

from ansible import context
from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible.plugins.lookup import LookupBase

from ansible_collections.llm_gateway.stack.plugins.plugin_utils._deploy_inputs import inputs_digest, run_is_complete


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        sources = (variables or {}).get("ansible_inventory_sources") or []
        cli_args = context.CLIARGS
        digest = inputs_digest(terms, sources, cli_args.get("extra_vars") or (), self.get_option("env"), os.environ,
                               ansible_version)
        return [{"digest": digest, "complete": run_is_complete(cli_args)}]
