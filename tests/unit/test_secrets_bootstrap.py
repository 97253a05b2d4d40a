"""playbooks/secrets.yml (role llm_gateway_secrets) against a throwaway copy of the dev inventory.

Each test copies inventories/dev (hosts.yml, group_vars/llm_gateway/main.yml) into a temporary directory and runs
the real playbook with a throwaway "dev" vault password, so the secrets land in
<tmp inventory>/vault/secrets.vault.yml and the next run loads them from there, as in dev.
"""

import dataclasses
import fcntl
import os
import pathlib
import re
import stat
import subprocess
import sys
import threading
import time
import uuid

import pytest
import yaml
from ansible_output import copy_dev_inventory, error_message, snapshot

ROOT = pathlib.Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = pathlib.Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_VAULT = pathlib.Path(sys.executable).parent / "ansible-vault"
PASSWORD = f"unit-secrets-{uuid.uuid4().hex}"
SECRETS = ["litellm_master_key", "litellm_salt_key", "phoenix_postgres_password", "litellm_postgres_password", "redis_password",
           "phoenix_secret", "phoenix_admin_secret", "phoenix_admin_password", "litellm_ui_password",
           "reasoning_api_client_token"]
DEV_VAULT_FILE = ROOT / "inventories" / "dev" / "vault" / "secrets.vault.yml"


# -- helpers --------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    rc: int
    out: str  # stdout and stderr
    changed: int | None  # the recap's changed count


@pytest.fixture
def inventory(tmp_path):
    """A copy of the dev inventory's layout; the real dev vault file (if any) must come out of the test untouched."""
    inv = copy_dev_inventory(tmp_path)
    # The development CA is tested on its own below (tls_inventory): here the generated secrets only.
    set_inventory_var(inv, "llm_gateway_tls_dev_ca", False)
    dev_before = DEV_VAULT_FILE.read_bytes() if DEV_VAULT_FILE.exists() else None
    yield inv
    assert (DEV_VAULT_FILE.read_bytes() if DEV_VAULT_FILE.exists() else None) == dev_before


def vault_file(inv):
    return inv / "vault" / "secrets.vault.yml"


def ansible_env(inv, password=PASSWORD):
    """The repo's ansible.cfg with one identity, dev, of ``password`` (never the real dev password)."""
    password_file = inv.parent / f"vault-password-{uuid.uuid5(uuid.NAMESPACE_OID, password).hex[:8]}"
    password_file.write_text(password + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_VAULT_IDENTITY_LIST=f"dev@{password_file}",
               ANSIBLE_NOCOLOR="1", ANSIBLE_LOCAL_TEMP=str(inv.parent / "ansible-local"))
    return env


def run_secrets(inv, *args):
    """ansible-playbook -i <inv> playbooks/secrets.yml with the throwaway dev password."""
    done = subprocess.run([str(ANSIBLE_PLAYBOOK), "-i", str(inv), "playbooks/secrets.yml", *args], cwd=ROOT,
                          env=ansible_env(inv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=120)
    recap = re.search(r"^localhost +: ok=\d+ +changed=(\d+) ", done.stdout, re.M)
    return Run(done.returncode, done.stdout, int(recap.group(1)) if recap else None)


# ansible-vault runs as a subprocess: importing Ansible's controller code into pytest changes how other tests'
# in-process module runs report warnings.
def held_secrets(inv):
    """llm_gateway_secrets_values as the vault file holds it."""
    done = subprocess.run([str(ANSIBLE_VAULT), "decrypt", "--output", "-", str(vault_file(inv))],
                          env=ansible_env(inv), capture_output=True, text=True, timeout=60, check=True)
    return yaml.safe_load(done.stdout)["llm_gateway_secrets_values"]


def seed(inv, values, password=PASSWORD):
    """Write the vault file as an earlier run (or the operator) would have."""
    vault_file(inv).parent.mkdir(exist_ok=True)
    subprocess.run([str(ANSIBLE_VAULT), "encrypt", "--encrypt-vault-id", "dev", "--output", str(vault_file(inv)), "-"],
                   input=yaml.safe_dump({"llm_gateway_secrets_values": values}), env=ansible_env(inv, password),
                   capture_output=True, text=True, timeout=60, check=True)


def set_inventory_var(inv, name, value):
    main = inv / "group_vars" / "llm_gateway" / "main.yml"
    main.write_text(main.read_text() + yaml.safe_dump({name: value}))




def assert_well_formed(secrets):
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", secrets["litellm_master_key"])
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", secrets["litellm_salt_key"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secrets["phoenix_postgres_password"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secrets["litellm_postgres_password"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secrets["redis_password"])
    # Phoenix's rule for its secrets: 32 characters or more with a digit and a lowercase letter.
    assert re.fullmatch(r"phx0-[A-Za-z0-9]{48}", secrets["phoenix_secret"])
    assert re.fullmatch(r"phxadm0-[A-Za-z0-9]{48}", secrets["phoenix_admin_secret"])
    assert re.fullmatch(r"[A-Za-z0-9]{24}", secrets["phoenix_admin_password"])
    assert re.fullmatch(r"[A-Za-z0-9]{24}", secrets["litellm_ui_password"])
    assert re.fullmatch(r"rapi-[A-Za-z0-9]{48}", secrets["reasoning_api_client_token"])
    assert len({secrets[name] for name in SECRETS}) == len(SECRETS)


# -- first run, second run ----------------------------------------------------------------------------------------


def test_first_run_generates_the_four_secrets_into_the_inventory_vault(inventory):
    run = run_secrets(inventory)

    assert run.rc == 0, run.out
    assert run.changed == 1, run.out
    path = vault_file(inventory)
    assert path.read_bytes().splitlines()[0] == b"$ANSIBLE_VAULT;1.2;AES256;dev"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secrets = held_secrets(inventory)
    assert sorted(secrets) == sorted(SECRETS)
    assert_well_formed(secrets)


def test_second_run_changes_nothing_and_leaves_the_file_byte_identical(inventory):
    assert run_secrets(inventory).changed == 1
    before, secrets = snapshot(vault_file(inventory)), held_secrets(inventory)

    run = run_secrets(inventory)

    assert run.rc == 0, run.out
    assert run.changed == 0, run.out
    assert snapshot(vault_file(inventory)) == before
    assert held_secrets(inventory) == secrets


def test_a_run_on_an_inventory_with_a_vault_prints_no_warning(inventory):
    # The vault/ folder sits inside the inventory directory: parsed as an inventory source, its files would become
    # groups, with a warning naming each secret's variable.
    assert run_secrets(inventory).rc == 0

    run = run_secrets(inventory)

    assert run.rc == 0, run.out
    assert "[WARNING]" not in run.out, run.out


def test_a_held_secret_is_never_regenerated(inventory):
    salt = "sk-" + "PreSeededSalt" * 3
    openai = "sk-operator-set-openai-key-0123456789"
    # An empty value counts as missing; a secret outside the specs (the operator's OpenAI key) is kept as it is.
    seed(inventory, {"litellm_salt_key": salt, "litellm_master_key": "", "openai_api_key": openai})

    run = run_secrets(inventory)

    assert run.rc == 0, run.out
    secrets = held_secrets(inventory)
    assert secrets["litellm_salt_key"] == salt
    assert secrets["openai_api_key"] == openai
    assert re.fullmatch(r"sk-[A-Za-z0-9]{48}", secrets["litellm_master_key"])
    assert sorted(secrets) == sorted(SECRETS + ["openai_api_key"])
    assert run_secrets(inventory).changed == 0
    assert held_secrets(inventory) == secrets


# -- generation off -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("switch_off", ["inventory", "extra_var"])
def test_without_generation_a_missing_secret_stops_the_run_and_nothing_is_written(inventory, switch_off):
    args = []
    if switch_off == "inventory":  # as inventories/prod does
        set_inventory_var(inventory, "llm_gateway_secrets_generate", False)
    else:  # -e key=value passes the string "false"
        args = ["-e", "llm_gateway_secrets_generate=false"]

    run = run_secrets(inventory, *args)

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"{vault_file(inventory)} lacks {', '.join(SECRETS)}" in message
    assert "-e llm_gateway_secrets_generate=true" in message
    assert "--vault-id dev@prompt" in message
    assert not vault_file(inventory).exists()


def test_without_generation_the_message_names_only_the_missing_secret(inventory):
    set_inventory_var(inventory, "llm_gateway_secrets_generate", False)
    seed(inventory, {name: f"held-{name}-0123456789abcdef" for name in SECRETS if name != "litellm_salt_key"})
    before = snapshot(vault_file(inventory))

    run = run_secrets(inventory)

    assert run.rc != 0, run.out
    assert re.search(r"secrets\.vault\.yml lacks litellm_salt_key and this inventory does not generate secrets",
                     error_message(run.out)), run.out
    assert snapshot(vault_file(inventory)) == before


def test_without_generation_a_complete_vault_passes(inventory):
    set_inventory_var(inventory, "llm_gateway_secrets_generate", False)
    seed(inventory, {name: f"held-{name}-0123456789abcdef" for name in SECRETS})
    before = snapshot(vault_file(inventory))

    run = run_secrets(inventory)

    assert (run.rc, run.changed) == (0, 0), run.out
    assert snapshot(vault_file(inventory)) == before


def test_an_external_secret_is_required_and_never_generated(inventory):
    """As in prod: the OpenAI key must be in the vault; generation on or off, nothing invents it."""
    set_inventory_var(inventory, "llm_gateway_secrets_external", ["openai_api_key"])
    seed(inventory, {name: f"held-{name}-0123456789abcdef" for name in SECRETS})
    before = snapshot(vault_file(inventory))

    run = run_secrets(inventory)

    assert run.rc != 0, run.out
    message = error_message(run.out)
    assert f"{vault_file(inventory)} lacks openai_api_key, which is never generated" in message
    assert "ansible-vault edit --vault-id dev@prompt" in message
    assert snapshot(vault_file(inventory)) == before

    seed(inventory, {name: f"held-{name}-0123456789abcdef" for name in [*SECRETS, "openai_api_key"]})
    assert run_secrets(inventory).rc == 0


# -- a vault that will not decrypt --------------------------------------------------------------------------------


def test_a_vault_file_that_will_not_decrypt_stops_the_run_before_any_task(inventory):
    seed(inventory, {"litellm_salt_key": "sk-" + "x" * 48}, password="another-password")
    before = snapshot(vault_file(inventory))

    run = run_secrets(inventory)

    assert run.rc != 0, run.out
    assert "TASK [" not in run.out  # stopped while loading the inventory's vault folder, before any task
    message = error_message(run.out)
    assert f"Cannot decrypt {vault_file(inventory)}" in message
    assert "encrypted for vault identity 'dev'" in message and "--vault-id dev@prompt" in message
    assert snapshot(vault_file(inventory)) == before


# -- two runs at once ----------------------------------------------------------------------------------------------


class Started:
    """ansible-playbook playbooks/secrets.yml in the background, its output collected line by line."""

    def __init__(self, inv):
        env = dict(ansible_env(inv), PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen([str(ANSIBLE_PLAYBOOK), "-i", str(inv), "playbooks/secrets.yml"], cwd=ROOT,
                                     env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(self.proc.stdout), daemon=True)
        self.reader.start()

    def wait_for(self, text, timeout=90):
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.lines):
            assert self.proc.poll() is None, "".join(self.lines)
            assert time.monotonic() < deadline, f"no {text!r} after {timeout} s:\n{''.join(self.lines)}"
            time.sleep(0.2)

    def finish(self):
        rc = self.proc.wait(timeout=120)
        self.reader.join(timeout=10)
        return Run(rc, "".join(self.lines), None)


def test_two_first_runs_at_once_never_lose_a_secret(inventory):
    # Both runs read an empty vault and generate their secrets; the test holds the vault folder's lock until both
    # wait on it, so both reach the write at once, as two operators starting together would.
    folder = vault_file(inventory).parent
    folder.mkdir()
    lock = os.open(folder, os.O_RDONLY)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        runs = [Started(inventory), Started(inventory)]
        for run in runs:
            run.wait_for(f"Waiting for the lock of {folder}, held by pid {os.getpid()}")
    finally:
        os.close(lock)
    results = [run.finish() for run in runs]

    assert sorted(r.rc == 0 for r in results) == [False, True], "\n".join(r.out for r in results)
    refused = next(r for r in results if r.rc != 0)
    message = error_message(refused.out)
    assert f"{vault_file(inventory)} changed since this run read it: another run wrote llm_gateway_secrets_values" in message
    kept = held_secrets(inventory)
    assert sorted(kept) == sorted(SECRETS)
    # The refused run wrote nothing; running it again adopts the secrets the other run made.
    before = snapshot(vault_file(inventory))
    again = run_secrets(inventory)
    assert (again.rc, again.changed) == (0, 0), again.out
    assert snapshot(vault_file(inventory)) == before
    leaked = [name for name, value in kept.items() for r in results if value in r.out]
    assert not leaked


# -- values never shown ---------------------------------------------------------------------------------------------


def test_verbose_output_never_shows_a_secret(inventory):
    salt = "sk-" + "VerboseSeed" * 4
    seed(inventory, {"litellm_salt_key": salt})

    runs = [run_secrets(inventory, "-v", "--diff"), run_secrets(inventory, "-v", "--diff")]

    assert [(r.rc, r.changed) for r in runs] == [(0, 1), (0, 0)], runs[0].out + runs[1].out
    assert "Using " in runs[0].out and "variables:" in runs[0].out  # -v shows the action's result
    secrets = held_secrets(inventory)
    assert secrets["litellm_salt_key"] == salt
    for run in runs:
        leaked = [name for name, value in secrets.items() if value in run.out]
        assert not leaked, run.out


# -- the development CA and the entry point's certificate --------------------------------------------------------

TLS = ["tls_ca_certificate", "tls_ca_private_key", "tls_certificate", "tls_private_key"]


@pytest.fixture
def tls_inventory(inventory):
    set_inventory_var(inventory, "llm_gateway_tls_dev_ca", True)
    return inventory


def test_the_development_ca_and_certificate_are_made_once_and_kept(tls_inventory):
    first = run_secrets(tls_inventory)

    assert first.rc == 0, first.out
    secrets = held_secrets(tls_inventory)
    assert sorted(secrets) == sorted(SECRETS + TLS)
    ca_file = tls_inventory / "tls" / "ca.crt"
    assert ca_file.read_text() == secrets["tls_ca_certificate"]
    assert stat.S_IMODE(ca_file.stat().st_mode) == 0o644
    assert "BEGIN PRIVATE KEY" in secrets["tls_private_key"] and "BEGIN PRIVATE KEY" in secrets["tls_ca_private_key"]
    before = snapshot(vault_file(tls_inventory))

    second = run_secrets(tls_inventory)
    check = run_secrets(tls_inventory, "--check", "--diff")

    assert (second.rc, second.changed) == (0, 0), second.out
    assert (check.rc, check.changed) == (0, 0), check.out
    assert snapshot(vault_file(tls_inventory)) == before
    for run in (first, second, check):
        leaked = [name for name in TLS if any(line in run.out for line in secrets[name].splitlines()[1:-1])]
        assert not leaked, f"{leaked} in the output"


def test_other_names_renew_the_certificate_but_keep_the_ca(tls_inventory):
    assert run_secrets(tls_inventory).rc == 0
    before = held_secrets(tls_inventory)
    set_inventory_var(tls_inventory, "llm_gateway_domain", "other.test")

    run = run_secrets(tls_inventory)

    assert run.rc == 0, run.out
    after = held_secrets(tls_inventory)
    assert after["tls_ca_certificate"] == before["tls_ca_certificate"]
    assert after["tls_ca_private_key"] == before["tls_ca_private_key"]
    assert after["tls_certificate"] != before["tls_certificate"]
    assert after["tls_private_key"] != before["tls_private_key"]
    assert {k: after[k] for k in SECRETS} == {k: before[k] for k in SECRETS}


def test_without_generation_a_missing_development_ca_stops_the_run(tls_inventory):
    set_inventory_var(tls_inventory, "llm_gateway_secrets_generate", False)
    seed(tls_inventory, {name: f"held-{name}-0123456789abcdef" for name in SECRETS})
    before = snapshot(vault_file(tls_inventory))

    run = run_secrets(tls_inventory)

    assert run.rc != 0, run.out
    assert f"lacks {', '.join(TLS)} and this inventory does not generate secrets" in error_message(run.out)
    assert snapshot(vault_file(tls_inventory)) == before


def test_a_brought_certificate_is_required_by_name(inventory):
    """As in prod: no development CA, the certificate and its key are the operator's."""
    set_inventory_var(inventory, "llm_gateway_secrets_external", ["openai_api_key", "tls_certificate", "tls_private_key"])
    seed(inventory, {name: f"held-{name}-0123456789abcdef" for name in [*SECRETS, "openai_api_key"]})

    run = run_secrets(inventory)

    assert run.rc != 0, run.out
    assert f"{vault_file(inventory)} lacks tls_certificate, tls_private_key, which is never generated" in error_message(run.out)
    assert not (inventory / "tls").exists()
