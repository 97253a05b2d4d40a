"""Helpers shared by the unit tests that run ansible-playbook: the [ERROR] message of a run, file snapshots."""

import re


def error_message(output):
    """The text of the first [ERROR] of a run, on one line."""
    match = re.search(r"^\[ERROR\]: (.*?)(?:\nOrigin:|\n\n|\Z)", output, re.S | re.M)
    assert match, f"no [ERROR] in the output:\n{output}"
    return " ".join(match.group(1).split())


def snapshot(path):
    """Bytes, inode and mtime: equal snapshots mean the file was neither rewritten nor replaced."""
    st = path.stat()
    return path.read_bytes(), st.st_ino, st.st_mtime_ns
