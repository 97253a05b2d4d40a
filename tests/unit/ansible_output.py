"""Helpers shared by the unit tests that run ansible-playbook: the [ERROR] message of a run and the task that failed,
file snapshots, a copy of the dev inventory."""

import pathlib
import re
import shutil

DEV_INVENTORY = pathlib.Path(__file__).resolve().parents[2] / "inventories" / "dev"


def error_message(output):
    """The text of the first [ERROR] of a run, on one line."""
    match = re.search(r"^\[ERROR\]: (.*?)(?:\nOrigin:|\n\n|\Z)", output, re.S | re.M)
    assert match, f"no [ERROR] in the output:\n{output}"
    return " ".join(match.group(1).split())


def failed_task(output):
    """Name of the task that failed: the last TASK header before the first fatal:/failed: line."""
    before_failure = re.split(r"^(?:fatal|failed): ", output, maxsplit=1, flags=re.M)[0]
    headers = re.findall(r"^TASK \[(?:[\w.]+ : )?(.*?)\] \*+$", before_failure, re.M)
    assert headers, f"no task failed:\n{output}"
    return headers[-1]


def snapshot(path):
    """Bytes, inode and mtime: equal snapshots mean the file was neither rewritten nor replaced."""
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns


def copy_dev_inventory(tmp_path):
    """The dev inventory's hosts and settings in tmp_path/inventory: its vault/ lands there, never in inventories/dev."""
    inv = tmp_path / "inventory"
    (inv / "group_vars" / "llm_gateway").mkdir(parents=True)
    shutil.copy(DEV_INVENTORY / "hosts.yml", inv / "hosts.yml")
    shutil.copy(DEV_INVENTORY / "group_vars" / "llm_gateway" / "main.yml", inv / "group_vars" / "llm_gateway" / "main.yml")
    return inv
