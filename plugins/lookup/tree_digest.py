# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A digest of files and folders on the controller: their relative paths, modes and contents."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_digest
author:
  - llm-gateway-ansible contributors !UNKNOWN
short_description: a SHA-256 digest of files and folders on the controller
description:
  - >-
    One digest over every given path (a file, or a folder walked recursively in sorted order), made of each file's
    path relative to O(root), its executable bit and its content. Equal digests mean equal build contexts.
  - site.yml labels the app image with it, and skips copying and building an unchanged context.
options:
  _terms:
    description: Paths relative to O(root) (files or folders).
    type: list
    elements: str
    required: true
  root:
    description: The folder the paths are relative to.
    type: path
    required: true
"""

EXAMPLES = r"""
context: "{{ lookup('llm_gateway.stack.tree_digest', 'Dockerfile', 'src', root=playbook_dir ~ '/app') }}"
"""

RETURN = r"""
_raw:
  description: The hexadecimal SHA-256 digest, one string.
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase

from ansible_collections.llm_gateway.stack.plugins.plugin_utils._tree_digest import tree_digest


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        try:
            return [tree_digest(self.get_option("root"), terms)]
        except FileNotFoundError as error:
            raise AnsibleLookupError("tree_digest: %s" % error) from error
