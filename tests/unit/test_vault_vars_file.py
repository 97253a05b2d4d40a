"""llm_gateway.stack.vault_vars_file (plugins/action/vault_vars_file.py) through ansible-playbook on localhost.

The run's only vault identity is "dev" with a throwaway password (ANSIBLE_VAULT_IDENTITY_LIST); the test playbook
(tests/unit/playbooks/vault_vars_file.yml) has no no_log, so any value shown would come from the action itself.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import pathlib
import re
import stat
import subprocess
import sys
import uuid

import yaml
from ansible_output import error_message, snapshot

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLAYBOOKS = pathlib.Path(__file__).resolve().parent / "playbooks"
INVENTORY = PLAYBOOKS / "inventory" / "localhost.yml"
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_VAULT = pathlib.Path(sys.executable).parent / "ansible-vault"
PASSWORD = f"unit-vault-{uuid.uuid4().hex}"


# -- helpers --------------------------------------------------------------------------------------------------


def secret(label):
    """A value that must never appear in any output."""
    return f"{label}-{uuid.uuid4().hex}"


@dataclasses.dataclass
class Run:
    rc: int
    out: str  # stdout and stderr
    changed: int | None  # the recap's changed count


def ansible_env(tmp_path, password=PASSWORD):
    """The repo's ansible.cfg with one identity, dev, of ``password`` (never the real dev password)."""
    password_file = tmp_path / f"vault-password-{uuid.uuid5(uuid.NAMESPACE_OID, password).hex[:8]}"
    password_file.write_text(password + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VAULT_IDENTITY_LIST=f"dev@{password_file}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"))
    return env


def write_vault(tmp_path, path, content, *args, vault_id="dev", **options):
    """Run the vault_vars_file playbook: vault_vars_file path=path vault_id=vault_id content=content [expect, lock_timeout]."""
    env = ansible_env(tmp_path)
    extra = {"test_vault_path": str(path), "test_vault_id": vault_id, "test_content": content}
    extra.update({f"test_{name}": value for name, value in options.items()})
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", str(INVENTORY), str(PLAYBOOKS / "vault_vars_file.yml"), "-e", json.dumps(extra)]
    done = subprocess.run(cmd + list(args), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=120)
    recap = re.search(r"^localhost +: ok=\d+ +changed=(\d+) ", done.stdout, re.M)
    return Run(done.returncode, done.stdout, int(recap.group(1)) if recap else None)


# ansible-vault runs as a subprocess: importing Ansible's controller code into pytest changes how other tests'
# in-process module runs report warnings.
def read_vault(tmp_path, path):
    done = subprocess.run([str(ANSIBLE_VAULT), "decrypt", "--output", "-", str(path)], env=ansible_env(tmp_path),
                          capture_output=True, text=True, timeout=60, check=True)
    return yaml.safe_load(done.stdout)


def encrypt_with(tmp_path, path, content, password):
    subprocess.run([str(ANSIBLE_VAULT), "encrypt", "--encrypt-vault-id", "dev", "--output", str(path), "-"],
                   input=yaml.safe_dump(content), env=ansible_env(tmp_path, password), capture_output=True,
                   text=True, timeout=60, check=True)




@contextlib.contextmanager
def holding_lock(directory):
    """Hold the vault folder's lock from this process, as another run would."""
    fd = os.open(directory, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        os.close(fd)


def assert_no_value_in(output, *values):
    leaked = [v for v in values if str(v) in output]
    assert not leaked, f"values {leaked} shown in:\n{output}"


# -- writing ----------------------------------------------------------------------------------------------------


def test_writes_an_encrypted_file_with_mode_0600(tmp_path):
    path = tmp_path / "new-dir" / "secrets.vault.yml"
    content = {"app_secrets": {"db": secret("db"), "api": secret("api")}}

    run = write_vault(tmp_path, path, content)

    assert run.rc == 0, run.out
    assert run.changed == 1, run.out
    assert path.read_bytes().splitlines()[0] == b"$ANSIBLE_VAULT;1.2;AES256;dev"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_vault(tmp_path, path) == content
    assert os.listdir(path.parent) == [path.name]  # no temporary file left behind


def test_numbers_booleans_and_lists_round_trip(tmp_path):
    # Values templated from -e or vars files are Ansible's tagged int/float subclasses, which yaml.safe_dump rejects
    # unless the action makes them plain.
    path = tmp_path / "settings.vault.yml"
    content = {"settings": {"port": 5432, "ratio": 0.5, "enabled": True, "hosts": ["a", 2], "none": None}}

    first = write_vault(tmp_path, path, content)
    second = write_vault(tmp_path, path, content)

    assert first.rc == 0, first.out
    assert read_vault(tmp_path, path) == content
    assert (second.rc, second.changed) == (0, 0), second.out


def test_same_content_again_is_unchanged_and_leaves_the_file_byte_identical(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    content = {"app_secrets": {"db": secret("db")}, "other": secret("other")}
    assert write_vault(tmp_path, path, content).changed == 1
    before = snapshot(path)

    run = write_vault(tmp_path, path, content)

    assert run.rc == 0, run.out
    assert run.changed == 0, run.out
    assert snapshot(path) == before


def test_changed_content_is_rewritten_and_the_diff_names_variables_without_values(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    kept, old, new, added, dropped = (secret(n) for n in ("kept", "old", "new", "added", "dropped"))
    write_vault(tmp_path, path, {"s": {"kept": kept, "rotated": old, "dropped": dropped}})
    before = path.read_bytes()

    run = write_vault(tmp_path, path, {"s": {"kept": kept, "rotated": new, "added": added}}, "--diff")

    assert run.rc == 0, run.out
    assert run.changed == 1, run.out
    assert path.read_bytes() != before
    assert read_vault(tmp_path, path) == {"s": {"kept": kept, "rotated": new, "added": added}}
    for line in ("+s.added: (hidden, new)", "+s.rotated: (hidden, changed)", "-s.dropped: (hidden)"):
        assert line in run.out, run.out
    assert re.search(r"^ ?[-+ ]?s\.kept: \(hidden", run.out, re.M), run.out
    assert_no_value_in(run.out, kept, old, new, added, dropped)


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "secrets.vault.yml"

    new_file = write_vault(tmp_path, path, {"a": secret("a")}, "--check")

    assert (new_file.rc, new_file.changed) == (0, 1), new_file.out
    assert not path.exists()
    write_vault(tmp_path, path, {"a": secret("a")})
    before = snapshot(path)

    changed_file = write_vault(tmp_path, path, {"a": secret("b")}, "--check", "--diff")

    assert (changed_file.rc, changed_file.changed) == (0, 1), changed_file.out
    assert "a: (hidden, changed)" in changed_file.out
    assert snapshot(path) == before


# -- variables the task does not manage, concurrent runs -----------------------------------------------------------


def test_variables_the_task_does_not_manage_are_kept(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    operator_owned = {"operator_token": secret("operator"), "operator_settings": {"region": "eu"}}
    encrypt_with(tmp_path, path, {"managed": {"a": secret("old")}, **operator_owned}, password=PASSWORD)
    managed = {"managed": {"a": secret("new")}}

    run = write_vault(tmp_path, path, managed, "--diff")

    assert (run.rc, run.changed) == (0, 1), run.out
    assert read_vault(tmp_path, path) == {**managed, **operator_owned}
    assert "operator_token: (hidden, unchanged)" in run.out
    assert_no_value_in(run.out, operator_owned["operator_token"], managed["managed"]["a"])


def test_a_write_is_refused_when_the_file_changed_since_the_run_read_it(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    written_meanwhile = {"s": {"a": secret("other-run")}}
    encrypt_with(tmp_path, path, written_meanwhile, password=PASSWORD)
    before = snapshot(path)

    run = write_vault(tmp_path, path, {"s": {"a": secret("this-run")}}, expect={"s": {}})

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"{path} changed since this run read it: another run wrote s in the meantime" in message
    assert "Nothing was written" in message
    assert snapshot(path) == before
    assert_no_value_in(run.out, written_meanwhile["s"]["a"])


def test_a_write_goes_ahead_when_the_file_holds_what_the_run_read(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    as_read = {"s": {"a": secret("a")}}
    encrypt_with(tmp_path, path, as_read, password=PASSWORD)
    wanted = {"s": {"a": as_read["s"]["a"], "b": secret("b")}}

    run = write_vault(tmp_path, path, wanted, expect=as_read)

    assert (run.rc, run.changed) == (0, 1), run.out
    assert read_vault(tmp_path, path) == wanted


def test_a_held_lock_makes_the_write_wait_then_fail_naming_the_holder(tmp_path):
    path = tmp_path / "vault" / "secrets.vault.yml"
    path.parent.mkdir()

    with holding_lock(path.parent):
        run = write_vault(tmp_path, path, {"a": secret("a")}, lock_timeout=2)

    assert run.rc != 0, run.out
    assert f"Waiting for the lock of {path.parent}, held by pid {os.getpid()}" in run.out
    message = error_message(run.out)
    assert f"Gave up after 2 s waiting for the lock of {path.parent}, held by pid {os.getpid()} (" in message
    assert "let it finish, then run again" in message
    assert not path.exists()


# -- clear failures ---------------------------------------------------------------------------------------------


def test_a_file_encrypted_with_another_password_fails_and_says_what_to_do(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    encrypt_with(tmp_path, path, {"a": "other"}, password="another-password")
    before = snapshot(path)

    run = write_vault(tmp_path, path, {"a": secret("a")})

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"Cannot decrypt {path}" in message
    # The hint names the identity written in the file's header (encrypt_with encrypts for "dev").
    assert "It is encrypted for vault identity 'dev'" in message and "--vault-id dev@prompt" in message
    assert snapshot(path) == before


def test_a_plaintext_file_fails_and_says_what_to_do(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    plaintext = secret("plaintext")
    path.write_text(f"a: {plaintext}\n")
    before = snapshot(path)

    run = write_vault(tmp_path, path, {"a": secret("a")})

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"{path} exists but is not vault-encrypted" in message
    assert "encrypt it with ansible-vault or move it away" in message
    assert snapshot(path) == before
    assert_no_value_in(run.out, plaintext)


def test_a_vault_id_without_a_password_fails_naming_the_identity(tmp_path):
    path = tmp_path / "secrets.vault.yml"

    run = write_vault(tmp_path, path, {"a": secret("a")}, vault_id="prod")

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"No vault password for identity 'prod' to encrypt {path}" in message
    assert "--vault-id prod@prompt" in message
    assert not path.exists()


# -- values never shown -----------------------------------------------------------------------------------------


def test_very_verbose_output_never_shows_a_value(tmp_path):
    path = tmp_path / "secrets.vault.yml"
    first, second = {"s": {"a": secret("a"), "b": secret("b")}}, {"s": {"a": secret("a2"), "b": secret("b")}}
    encrypted_elsewhere = tmp_path / "other.vault.yml"
    encrypt_with(tmp_path, encrypted_elsewhere, {"s": {"a": "x"}}, password="another-password")

    runs = [write_vault(tmp_path, path, first, "-vvv", "--diff"),
            write_vault(tmp_path, path, first, "-vvv", "--diff"),
            write_vault(tmp_path, path, second, "-vvv", "--diff", "--check"),
            write_vault(tmp_path, path, second, "-vvv", "--diff"),
            write_vault(tmp_path, encrypted_elsewhere, second, "-vvv"),
            write_vault(tmp_path, tmp_path / "prod.vault.yml", second, "-vvv", vault_id="prod")]

    assert [r.rc == 0 for r in runs] == [True, True, True, True, False, False]
    assert [r.changed for r in runs[:4]] == [1, 0, 1, 1]
    assert read_vault(tmp_path, path) == second
    for run in runs:
        assert "task path:" in run.out  # -vvv took effect
        assert_no_value_in(run.out, first["s"]["a"], second["s"]["a"], second["s"]["b"])
