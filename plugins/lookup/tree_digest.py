# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""A digest of files and folders on the controller: their relative paths, modes and contents."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tree_digest
author: llm-gateway-ansible contributors
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

import hashlib
import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def tree_digest(root, paths):
    digest = hashlib.sha256()
    for path in paths:
        full = os.path.join(root, path)
        if not os.path.exists(full):
            raise AnsibleLookupError("tree_digest: %s does not exist" % full)
        files = [full] if os.path.isfile(full) else sorted(
            os.path.join(folder, name) for folder, _, names in os.walk(full) for name in names)
        for name in files:
            if "__pycache__" in name.split(os.sep) or name.endswith(".pyc"):
                continue
            digest.update(os.path.relpath(name, root).encode() + b"\0")
            digest.update(b"x" if os.access(name, os.X_OK) else b"-")
            with open(name, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        return [tree_digest(self.get_option("root"), terms)]
