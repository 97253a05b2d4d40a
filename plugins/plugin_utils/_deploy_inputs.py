# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Private to the collection: the digest behind the deploy_inputs lookup, free of Ansible's controller imports."""

from __future__ import annotations

import hashlib
import os
import pathlib

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]  # plugins/plugin_utils/ → the collection
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


def inputs_digest(paths, inventory_sources, extra_vars, env_names, environ, version=""):
    """The lookup's digest (see its documentation); version: ansible-core's."""
    digest = hashlib.sha256(version.encode())
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
    """Whether the command line runs every task on every host."""
    tags = tuple(cli_args.get("tags") or ("all",))
    return (tags == ("all",) and not cli_args.get("skip_tags") and not cli_args.get("subset")
            and not cli_args.get("start_at_task") and not cli_args.get("step"))
