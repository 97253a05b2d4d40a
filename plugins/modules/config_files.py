#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: config_files
short_description: Ensure a service's configuration folder and the files in it, in one step
description:
  - Ensures the folder O(path), its sub-folders O(folders), and each file of O(files) in them with exactly the
    content given, owned by O(owner) and O(group) (a file may name its own), the folders with mode O(mode) and each
    file with its own.
  - "One module run for the whole folder: M(ansible.builtin.file), M(ansible.builtin.template) and
    M(ansible.builtin.copy) take one or two runs per file, and each run costs a Python start on the host."
  - A file is written only when its content differs, into a temporary file of the same folder that is given its
    owner and mode first and then renamed over the old one, so a service never reads half a file.
  - Each file of O(absent) is removed when present; its content never shows in a diff.
  - Files and folders that the task does not name are left alone.
  - The contents are task arguments, shown in diffs. A task whose files hold a secret needs C(no_log), which hides
    its diff too.
version_added: "2.5.0"
author:
  - llm-gateway-ansible contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports what would be created, written or given another owner or mode, and writes nothing.
  diff_mode:
    support: full
    details:
      - Each file written shows its old and new content; each folder created and each owner or mode changed shows
        its state before and after.
  platform:
    support: full
    platforms: posix
options:
  path:
    description: The service's folder, created with its parents when missing.
    type: path
    required: true
  owner:
    description:
      - User name or id owning the folders and files.
      - When not given, what the task creates belongs to the user it runs as, and existing owners are kept.
    type: str
  group:
    description:
      - Group name or id owning the folders and files.
      - When not given, what the task creates gets that user's group, and existing groups are kept.
    type: str
  mode:
    description: Octal mode of O(path) and of each of O(folders).
    type: str
    default: "0755"
  folders:
    description: Sub-folders of O(path) to ensure, as paths relative to it (for example one a later task fills).
    type: list
    elements: str
    default: []
  files:
    description: The files to ensure.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The file's path relative to O(path), in O(path) itself or in one of O(folders).
        type: str
        required: true
      content:
        description: The file's whole content, written as UTF-8.
        type: str
        required: true
      mode:
        description: The file's octal mode.
        type: str
        default: "0644"
      owner:
        description: The file's owner, when not O(owner) (for example the user of the service that reads it).
        type: str
      group:
        description: The file's group, when not O(group).
        type: str
  absent:
    description:
      - Files that must not exist, as paths relative to O(path), in O(path) itself or in one of O(folders); each one
        present is removed (for example a file a later task writes, which must not be an earlier run's).
      - A name both here and in O(files) is refused.
    type: list
    elements: str
    default: []
    version_added: "2.6.0"
"""

EXAMPLES = r"""
- name: Write LiteLLM's configuration into /opt/llm-gateway/litellm
  llm_gateway.stack.config_files:
    path: /opt/llm-gateway/litellm
    owner: root
    group: root
    folders: [phoenix-key]
    files:
      - name: litellm_config.yaml
        content: "{{ lookup('ansible.builtin.template', 'litellm_config.yaml.j2') }}"
      - name: launch.py
        content: "{{ lookup('ansible.builtin.file', 'launch.py', rstrip=false) }}"
  notify: Restart LiteLLM
"""

RETURN = r"""
path:
  description: The folder.
  returned: always
  type: str
written:
  description: The files written (or, in check mode, that would be), relative to O(path).
  returned: always
  type: list
  elements: str
  sample: [litellm_config.yaml]
created:
  description: Those of RV(written) that did not exist before.
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: The files of O(absent) removed (or, in check mode, that would be), relative to O(path).
  returned: always
  type: list
  elements: str
  sample: [phoenix-key/api_key]
  version_added: "2.6.0"
"""

import grp
import os
import pwd
import re
import tempfile

from ansible.module_utils.basic import AnsibleModule

OCTAL_MODE = re.compile(r"^0?[0-7]{3,4}$")


def fail_on_bad_arguments(module):
    params = module.params
    modes = [("mode", params["mode"])] + [("files[%s].mode" % f["name"], f["mode"]) for f in params["files"]]
    for option, mode in modes:
        if not OCTAL_MODE.match(mode):
            module.fail_json(msg="%s is %r: give an octal mode such as '0644'." % (option, mode))
    folders = [""] + [os.path.normpath(folder) for folder in params["folders"]]
    for option, name in [("folders", folder) for folder in params["folders"]] + \
                        [("files", f["name"]) for f in params["files"]] + \
                        [("absent", name) for name in params["absent"]]:
        if os.path.isabs(name) or os.path.normpath(name).split(os.sep)[0] in ("..", "."):
            module.fail_json(msg="%s names %r: give a path inside %s, relative to it." % (option, name, params["path"]))
    for option, name in [("files", f["name"]) for f in params["files"]] + [("absent", name) for name in params["absent"]]:
        if os.path.dirname(os.path.normpath(name)) not in folders:
            module.fail_json(msg="%s names %r, in a folder that neither path nor folders is: add %r to folders."
                             % (option, name, os.path.dirname(name)))
    both = set(os.path.normpath(f["name"]) for f in params["files"]) & set(map(os.path.normpath, params["absent"]))
    if both:
        module.fail_json(msg="files and absent both name %s: a file is either written or removed." % ", ".join(sorted(both)))


def owner_ids(module, options, where=""):
    """(uid, gid) of the owner and group in options, names or numbers; -1 for one not given (kept as it is)."""
    ids = []
    for option, lookup in (("owner", lambda name: pwd.getpwnam(name).pw_uid),
                           ("group", lambda name: grp.getgrnam(name).gr_gid)):
        value = options[option]
        try:
            ids.append(-1 if value is None else int(value) if value.isdigit() else lookup(value))
        except KeyError:
            module.fail_json(msg="%s%s is %r, which names no %s on this host: create it first, or give an id."
                             % (where, option, value, "user" if option == "owner" else "group"))
    return tuple(ids)


def kept_ids(st, uid, gid):
    """The ids to give an existing path (its lstat st): an owner or group not given (-1) stays its own."""
    return (st.st_uid if uid == -1 else uid), (st.st_gid if gid == -1 else gid)


def ensure_attributes(module, path, uid, gid, mode, diffs):
    """Give an existing path its owner, group (those given) and mode; True when one differed."""
    st = os.lstat(path)
    before = {"owner": st.st_uid, "group": st.st_gid, "mode": "%04o" % (st.st_mode & 0o7777)}
    uid, gid = kept_ids(st, uid, gid)
    after = {"owner": uid, "group": gid, "mode": "%04o" % mode}
    if before == after:
        return False
    diffs.append({"before_header": path, "after_header": path, "before": before, "after": after})
    if not module.check_mode:
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def ensure_folder(module, path, uid, gid, mode, diffs):
    if os.path.isdir(path):
        return ensure_attributes(module, path, uid, gid, mode, diffs)
    if os.path.lexists(path):
        module.fail_json(msg="%s exists and is not a folder: move it away, then run again." % path)
    diffs.append({"before_header": path, "after_header": path,
                  "before": {"state": "absent"}, "after": {"state": "directory", "mode": "%04o" % mode}})
    if not module.check_mode:
        os.makedirs(path)
        os.chown(path, uid, gid)
        os.chmod(path, mode)
    return True


def read_bytes(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def write_atomically(path, data, uid, gid, mode):
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), prefix="." + os.path.basename(path) + ".")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.chown(temporary, uid, gid)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def ensure_file(module, root, spec, uid, gid, diffs):
    """Write one file when its content differs, else fix its owner and mode. What it did: "created", "written",
    "attributes" (owner, group or mode only) or None."""
    path, mode = os.path.join(root, spec["name"]), int(spec["mode"], 8)
    wanted = spec["content"].encode("utf-8")
    current = read_bytes(path)
    if current == wanted:
        return "attributes" if ensure_attributes(module, path, uid, gid, mode, diffs) else None
    diffs.append({"before_header": path, "after_header": path,
                  "before": "" if current is None else current.decode("utf-8", "replace"), "after": spec["content"]})
    if not module.check_mode:
        if current is not None:
            uid, gid = kept_ids(os.lstat(path), uid, gid)
        write_atomically(path, wanted, uid, gid, mode)
    return "created" if current is None else "written"


def ensure_absent(module, root, name, diffs):
    """Remove one file when present; True when it was (or, in check mode, would be)."""
    path = os.path.join(root, name)
    if not os.path.lexists(path):
        return False
    if os.path.isdir(path) and not os.path.islink(path):
        module.fail_json(msg="absent names %r, which is a folder: this module removes files only." % name)
    diffs.append({"before_header": path, "after_header": path, "before": {"state": "file"}, "after": {"state": "absent"}})
    if not module.check_mode:
        os.unlink(path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="str", default="0755"),
            folders=dict(type="list", elements="str", default=[]),
            files=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
                owner=dict(type="str"),
                group=dict(type="str"),
            )),
            absent=dict(type="list", elements="str", default=[]),
        ),
        supports_check_mode=True,
    )
    fail_on_bad_arguments(module)
    root, folder_mode = module.params["path"], int(module.params["mode"], 8)
    uid, gid = owner_ids(module, module.params)
    file_ids = [owner_ids(module, dict((option, spec[option] or module.params[option]) for option in ("owner", "group")),
                          "files[%s]." % spec["name"]) for spec in module.params["files"]]
    diffs, written, created, changed = [], [], [], False
    for folder in [root] + [os.path.join(root, sub) for sub in module.params["folders"]]:
        changed = ensure_folder(module, folder, uid, gid, folder_mode, diffs) or changed
    for spec, (file_uid, file_gid) in zip(module.params["files"], file_ids):
        done = ensure_file(module, root, spec, file_uid, file_gid, diffs)
        if done in ("created", "written"):
            written.append(spec["name"])
        if done == "created":
            created.append(spec["name"])
        changed = changed or done is not None
    removed = [name for name in module.params["absent"] if ensure_absent(module, root, name, diffs)]
    result = dict(changed=changed or bool(removed), path=root, written=written, created=created, removed=removed)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
