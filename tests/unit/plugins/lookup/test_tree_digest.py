"""plugins/lookup/tree_digest.py (plugin_utils/_tree_digest.py): one digest over a build context; equal exactly when the context is equal."""

import os

import pytest

from ansible_collections.llm_gateway.stack.plugins.plugin_utils._tree_digest import tree_digest

PATHS = ["Dockerfile", "src"]


@pytest.fixture
def context(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "Dockerfile").write_text("FROM debian\n")
    (tmp_path / "src" / "pkg" / "main.py").write_text("print('hi')\n")
    return tmp_path


def test_the_same_context_gives_the_same_digest_and_caches_do_not_count(context):
    before = tree_digest(str(context), PATHS)
    (context / "src" / "pkg" / "__pycache__").mkdir()
    (context / "src" / "pkg" / "__pycache__" / "main.cpython-312.pyc").write_bytes(b"\0")
    (context / "unrelated.txt").write_text("not in the context")
    assert tree_digest(str(context), PATHS) == before
    assert len(before) == 64


@pytest.mark.parametrize("change", ["content", "new file", "rename", "mode"])
def test_any_change_in_the_context_changes_the_digest(context, change):
    before = tree_digest(str(context), PATHS)
    main = context / "src" / "pkg" / "main.py"
    if change == "content":
        main.write_text("print('bye')\n")
    elif change == "new file":
        (context / "src" / "pkg" / "extra.py").write_text("")
    elif change == "rename":
        main.rename(main.with_name("other.py"))
    else:
        os.chmod(main, 0o755)
    assert tree_digest(str(context), PATHS) != before


def test_a_missing_path_is_an_error_naming_it(context):
    with pytest.raises(FileNotFoundError, match="requirements.txt does not exist"):
        tree_digest(str(context), ["requirements.txt"])
