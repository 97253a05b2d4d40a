# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""Controller-side writer of ansible-vault encrypted vars files (documented in plugins/modules/vault_vars_file.py)."""

from __future__ import annotations

import fcntl
import os
import tempfile
import time

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes
from ansible.parsing.vault import AnsibleVaultError, VaultLib, is_encrypted, match_encrypt_secret
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

display = Display()

ARGUMENT_SPEC = {
    "path": {"type": "path", "required": True},
    "content": {"type": "dict", "required": True, "no_log": True},
    "vault_id": {"type": "str", "required": True},
    "expect": {"type": "dict", "no_log": True},
    "lock_timeout": {"type": "int", "default": 120},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)[1]
        path, vault_id = args["path"], args["vault_id"]
        # Round-trip through YAML so the comparison sees plain data, whatever types the templating produced.
        managed = yaml.safe_load(yaml.safe_dump(_plain(args["content"]))) or {}
        vault = VaultLib(self._loader._vault.secrets)  # the identities this run was started with

        directory = os.path.dirname(path) or "."
        if not self._task.check_mode:
            os.makedirs(directory, mode=0o700, exist_ok=True)
        # Read, compare and write under the vault folder's lock: two runs never interleave their writes.
        with _locked(directory, args["lock_timeout"], enabled=not self._task.check_mode):
            current = self._read(vault, path)
            if args["expect"] is not None:
                _refuse_if_changed_since_read(path, current, yaml.safe_load(yaml.safe_dump(_plain(args["expect"]))))
            desired = dict(current or {}, **managed)  # variables this task does not manage stay as they are
            changed = current != desired
            result.update(changed=changed, path=path, variables=sorted(desired))
            if self._task.diff and changed:
                # Names only: which variables appear, disappear or change; never a value.
                result["diff"] = {
                    "before_header": path, "after_header": path,
                    "before": _names_with_state(current, desired, "before"),
                    "after": _names_with_state(current, desired, "after"),
                }
            if changed:
                secret = self._encrypt_secret(vault, vault_id, path)  # also in check mode: a real run would need it
                if not self._task.check_mode:
                    self._write(vault, vault_id, secret, path, desired)
        return result

    def _read(self, vault, path):
        if not os.path.exists(path):
            return None
        with open(path, "rb") as f:
            data = f.read()
        if not is_encrypted(data):
            raise AnsibleError(f"{path} exists but is not vault-encrypted: encrypt it with ansible-vault or move it away.")
        try:
            plaintext = vault.decrypt(data)
        except AnsibleVaultError as e:
            label = _vault_id_of(data)
            raise AnsibleError(
                f"Cannot decrypt {path} with the vault passwords of this run. It is encrypted for vault identity "
                f"'{label}': run with --vault-id {label}@prompt (or @/path/to/password-file), or restore the file."
            ) from e
        return yaml.safe_load(plaintext) or {}

    @staticmethod
    def _encrypt_secret(vault, vault_id, path):
        try:
            return match_encrypt_secret(vault.secrets, encrypt_vault_id=vault_id)[1]
        except AnsibleError as e:
            raise AnsibleError(
                f"No vault password for identity '{vault_id}' to encrypt {path}: "
                f"run with --vault-id {vault_id}@prompt (or a password file)."
            ) from e

    @staticmethod
    def _write(vault, vault_id, secret, path, content):
        header = "# Managed by llm-gateway-ansible: ansible-vault encrypted, do not edit by hand.\n"
        plaintext = header + yaml.safe_dump(content, default_flow_style=False, sort_keys=True)
        ciphertext = vault.encrypt(to_bytes(plaintext), secret=secret, vault_id=vault_id)
        directory = os.path.dirname(path) or "."
        # Same directory, then rename: readers never see a half-written file.
        fd, tmp_path = tempfile.mkstemp(prefix=".vault-", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(ciphertext)
            os.chmod(tmp_path, 0o600)
            os.replace(tmp_path, path)
        except BaseException:
            os.unlink(tmp_path)
            raise


def _refuse_if_changed_since_read(path, current, expect):
    """Another run wrote one of our variables after this run read the file: writing now would lose its values."""
    moved = sorted(name for name, value in expect.items() if ((current or {}).get(name) or None) != (value or None))
    if moved:
        raise AnsibleError(
            f"{path} changed since this run read it: another run wrote {', '.join(moved)} in the meantime. "
            f"Nothing was written, so the secrets that run made are kept. Run again: it will use them."
        )


class _locked:
    """An exclusive flock on the vault folder (released by the kernel when the holder exits, so never stale)."""

    def __init__(self, directory, timeout, enabled=True):
        self.directory, self.timeout, self.enabled, self.fd = directory, timeout, enabled, None

    def __enter__(self):
        if not self.enabled:
            return self
        self.fd = os.open(self.directory, os.O_RDONLY)
        start, announced = time.monotonic(), False
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= self.timeout:
                    holder = _lock_holder(self.fd)
                    os.close(self.fd)
                    raise AnsibleError(
                        f"Gave up after {waited:.0f} s waiting for the lock of {self.directory}, held by "
                        f"{holder}. Another run is writing this inventory's vault: let it finish, then "
                        f"run again (the lock goes away with the process that holds it)."
                    ) from None
                if not announced:
                    display.display(f"Waiting for the lock of {self.directory}, held by {_lock_holder(self.fd)}")
                    announced = True
                time.sleep(0.2)

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the flock


def _lock_holder(fd):
    """The process holding a flock on fd's inode (from /proc/locks): pid, command line and start time."""
    inode = os.fstat(fd).st_ino
    try:
        with open("/proc/locks", encoding="ascii", errors="replace") as f:
            for line in f:
                fields = line.split()
                # 1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF  (a "->" marks a waiter, not the holder)
                if len(fields) > 5 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
                    return _describe_process(int(fields[4]))
    except OSError:
        pass
    return "another process"


def _describe_process(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        started = time.strftime("%H:%M:%S", time.localtime(os.stat(f"/proc/{pid}").st_mtime))
    except OSError:
        return f"pid {pid}"
    return f"pid {pid} ({command[:200]}, running since {started})"


def _vault_id_of(data):
    """The identity label in a vault header ($ANSIBLE_VAULT;1.2;AES256;prod), or "default" for 1.1 files."""
    fields = data.split(b"\n", 1)[0].decode("ascii", "replace").strip().split(";")
    return fields[3] if len(fields) > 3 else "default"


def _plain(value):
    """Templated values may carry Ansible's tagged str/int/float/dict/list subclasses: make them plain for yaml.safe_dump."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return str(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _flatten(data, prefix=""):
    """{'a': {'b': 1}} -> {'a.b': 1}: the diff names every leaf."""
    flat = {}
    for key, value in (data or {}).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = value
    return flat


def _names_with_state(current, desired, side):
    before, after = _flatten(current), _flatten(desired)
    if side == "before":
        return "".join(f"{n}: (hidden)\n" for n in sorted(before))
    lines = []
    for n in sorted(after):
        state = "new" if n not in before else "changed" if before[n] != after[n] else "unchanged"
        lines.append(f"{n}: (hidden, {state})\n")
    return "".join(lines)
