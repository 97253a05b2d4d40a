# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Private to the collection: the digest behind the tree_digest lookup, free of Ansible's controller imports."""

from __future__ import annotations

import hashlib
import os


def tree_digest(root, paths):
    """SHA-256 over each file under the paths (relative to root): its relative path, executable bit and content."""
    digest = hashlib.sha256()
    for path in paths:
        full = os.path.join(root, path)
        if not os.path.exists(full):
            raise FileNotFoundError("%s does not exist" % full)
        files = [full] if os.path.isfile(full) else sorted(
            os.path.join(folder, name) for folder, _subfolders, names in os.walk(full) for name in names)
        for name in files:
            if "__pycache__" in name.split(os.sep) or name.endswith(".pyc"):
                continue
            digest.update(os.path.relpath(name, root).encode() + b"\0")
            digest.update(b"x" if os.access(name, os.X_OK) else b"-")
            with open(name, "rb") as handle:
                digest.update(hashlib.sha256(handle.read()).digest())
    return digest.hexdigest()
