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

import hashlib
import os
import pathlib

from ansible import context
from ansible.module_utils.ansible_release import __version__ as ansible_version
from ansible.plugins.lookup import LookupBase

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION_PATHS = ("roles", "plugins", "meta", "galaxy.yml")
SKIPPED = {"__pycache__", ".git"}
# Written by the run itself (the dev CA's certificate): an output, not an input.
INVENTORY_OUTPUTS = {"tls"}
# Beside an inventory file, the folders Ansible and the vault vars plugin read with it.
INVENTORY_SIBLINGS = ("group_vars", "host_vars", "vault")


def _add_tree(digest, path, skipped=frozenset()):
    """Each file under path (or path itself): its name relative to path, mode and content."""
    path = os.path.abspath(path)
    digest.update(b"\1")  # where the tree is does not count: a clone elsewhere deploys the same

    if not os.path.exists(path):
        digest.update(b"missing")
        return
    if os.path.isfile(path):
        files = [path]
    else:
        files = []
        for folder, subfolders, names in os.walk(path, followlinks=True):
            subfolders[:] = sorted(name for name in subfolders if name not in SKIPPED and
                                   not (folder == path and name in skipped))
            files += [os.path.join(folder, name) for name in sorted(names) if not name.endswith(".pyc")]
    for name in files:
        digest.update(os.path.relpath(name, path).encode() + b"\0")
        digest.update(b"%o" % (os.stat(name).st_mode & 0o7777))
        with open(name, "rb") as handle:
            digest.update(hashlib.sha256(handle.read()).digest())


def inputs_digest(paths, inventory_sources, extra_vars, env_names, environ):
    digest = hashlib.sha256(ansible_version.encode())
    for name in COLLECTION_PATHS:
        _add_tree(digest, str(COLLECTION_ROOT / name))
    for path in paths:
        _add_tree(digest, path)
    for source in inventory_sources:
        if os.path.isdir(source):
            _add_tree(digest, source, INVENTORY_OUTPUTS)
        else:
            _add_tree(digest, source)
            for sibling in INVENTORY_SIBLINGS:
                _add_tree(digest, os.path.join(os.path.dirname(source), sibling))
    for value in extra_vars:
        digest.update(b"\2" + value.encode() + b"\0")
        if value.startswith("@"):
            _add_tree(digest, value[1:])
    for name in env_names:
        digest.update(b"\3" + name.encode() + b"=" + hashlib.sha256(environ.get(name, "").encode()).digest())
    return digest.hexdigest()


def run_is_complete(cli_args):
    tags = tuple(cli_args.get("tags") or ("all",))
    return (tags == ("all",) and not cli_args.get("skip_tags") and not cli_args.get("subset")
            and not cli_args.get("start_at_task") and not cli_args.get("step"))


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        sources = (variables or {}).get("ansible_inventory_sources") or []
        cli_args = context.CLIARGS
        digest = inputs_digest(terms, sources, cli_args.get("extra_vars") or (), self.get_option("env"), os.environ)
        return [{"digest": digest, "complete": run_is_complete(cli_args)}]
