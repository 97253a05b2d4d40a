"""config_files: one run ensures a folder, its sub-folders and its files; a file is rewritten only when its content
differs, never half-written; owner and mode drift is put back; check mode writes nothing; bad names and modes are
refused before anything is touched; files named absent are removed."""

import json
import os
import stat

import pytest

from ansible.module_utils.testing import patch_module_args
from ansible_collections.llm_gateway.stack.plugins.modules import config_files

OWNER = str(os.getuid())
GROUP = str(os.getgid())
CONFIG = "model_list: []\n"
LAUNCHER = "print('launch')\n"


def run(capsys, path, files, folders=(), check_mode=False, diff=False, mode="0755", absent=()):
    args = {"path": str(path), "owner": OWNER, "group": GROUP, "mode": mode, "folders": list(folders),
            "files": files, "absent": list(absent), "_ansible_check_mode": check_mode, "_ansible_diff": diff}
    with patch_module_args(args), pytest.raises(SystemExit):
        config_files.main()
    return json.loads(capsys.readouterr().out)


def service_files(config=CONFIG):
    return [{"name": "config.yaml", "content": config},
            {"name": "launch.py", "content": LAUNCHER, "mode": "0640"},
            {"name": "keys/README", "content": "the key comes later\n"}]


def mode_of(path):
    return "%04o" % stat.S_IMODE(path.stat().st_mode)


def test_a_first_run_creates_everything_with_its_mode_and_a_second_changes_nothing(tmp_path, capsys):
    folder = tmp_path / "opt" / "litellm"

    first = run(capsys, folder, service_files(), folders=["keys"])

    assert first["changed"] is True
    assert first["written"] == ["config.yaml", "launch.py", "keys/README"]
    assert (folder / "config.yaml").read_text() == CONFIG
    assert (folder / "launch.py").read_text() == LAUNCHER
    assert (folder / "keys" / "README").read_text() == "the key comes later\n"
    assert [mode_of(folder), mode_of(folder / "keys")] == ["0755", "0755"]
    assert [mode_of(folder / "config.yaml"), mode_of(folder / "launch.py")] == ["0644", "0640"]
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "keys", "launch.py"]  # no temporary file left

    second = run(capsys, folder, service_files(), folders=["keys"])

    assert second["changed"] is False and second["written"] == []


def test_a_changed_content_rewrites_that_file_only_and_shows_its_diff(tmp_path, capsys):
    folder = tmp_path / "litellm"
    run(capsys, folder, service_files(), folders=["keys"])
    untouched = (folder / "launch.py").stat().st_ino
    replaced = (folder / "config.yaml").stat().st_ino

    out = run(capsys, folder, service_files("model_list: [gpt-4o]\n"), folders=["keys"], diff=True)

    assert out["changed"] is True and out["written"] == ["config.yaml"]
    assert (folder / "config.yaml").read_text() == "model_list: [gpt-4o]\n"
    assert (folder / "config.yaml").stat().st_ino != replaced  # renamed over the old file, not rewritten in place
    assert (folder / "launch.py").stat().st_ino == untouched
    assert out["diff"] == [{"before_header": str(folder / "config.yaml"), "after_header": str(folder / "config.yaml"),
                            "before": CONFIG, "after": "model_list: [gpt-4o]\n"}]


def test_an_owner_or_mode_changed_by_hand_is_put_back(tmp_path, capsys):
    folder = tmp_path / "litellm"
    run(capsys, folder, service_files(), folders=["keys"])
    (folder / "config.yaml").chmod(0o600)
    (folder / "keys").chmod(0o700)

    out = run(capsys, folder, service_files(), folders=["keys"], diff=True)

    assert out["changed"] is True and out["written"] == []
    assert mode_of(folder / "config.yaml") == "0644" and mode_of(folder / "keys") == "0755"
    modes = {d["before_header"]: (d["before"]["mode"], d["after"]["mode"]) for d in out["diff"]}
    assert modes == {str(folder / "keys"): ("0700", "0755"), str(folder / "config.yaml"): ("0600", "0644")}


def test_check_mode_reports_the_changes_and_writes_nothing(tmp_path, capsys):
    fresh = tmp_path / "fresh"
    out = run(capsys, fresh, service_files(), folders=["keys"], check_mode=True, diff=True)

    assert out["changed"] is True and out["written"] == ["config.yaml", "launch.py", "keys/README"]
    assert not fresh.exists()
    assert {"state": "directory", "mode": "0755"} in [d["after"] for d in out["diff"]]

    existing = tmp_path / "existing"
    run(capsys, existing, service_files(), folders=["keys"])
    (existing / "launch.py").chmod(0o600)
    out = run(capsys, existing, service_files("model_list: [gpt-4o]\n"), folders=["keys"], check_mode=True)

    assert out["changed"] is True and out["written"] == ["config.yaml"]
    assert (existing / "config.yaml").read_text() == CONFIG
    assert mode_of(existing / "launch.py") == "0600"


def test_files_the_task_does_not_name_are_left_alone(tmp_path, capsys):
    folder = tmp_path / "litellm"
    run(capsys, folder, service_files(), folders=["keys"])
    (folder / "keys" / "api_key").write_text("written by another task\n")

    out = run(capsys, folder, service_files()[:1], folders=["keys"])

    assert out["changed"] is False
    assert (folder / "launch.py").read_text() == LAUNCHER
    assert (folder / "keys" / "api_key").read_text() == "written by another task\n"


def test_a_file_named_absent_is_removed_once_and_only_reported_in_check_mode(tmp_path, capsys):
    folder = tmp_path / "litellm"
    run(capsys, folder, service_files(), folders=["keys"])
    (folder / "keys" / "api_key").write_text("an earlier stack's key\n")

    checked = run(capsys, folder, service_files(), folders=["keys"], absent=["keys/api_key"], check_mode=True, diff=True)

    assert checked["changed"] is True and checked["removed"] == ["keys/api_key"]
    assert {"state": "absent"} in [d["after"] for d in checked["diff"]]
    assert "an earlier stack's key" not in json.dumps(checked["diff"])  # the removed file's content is never shown
    assert (folder / "keys" / "api_key").exists()

    removed = run(capsys, folder, service_files(), folders=["keys"], absent=["keys/api_key"])

    assert removed["changed"] is True and removed["removed"] == ["keys/api_key"]
    assert not (folder / "keys" / "api_key").exists()
    assert (folder / "keys" / "README").exists()

    again = run(capsys, folder, service_files(), folders=["keys"], absent=["keys/api_key"])

    assert again["changed"] is False and again["removed"] == []


@pytest.mark.parametrize("files, folders, mode, absent, message", [
    ([{"name": "../escape", "content": "x"}], [], "0755", [], "files names '../escape': give a path inside"),
    ([{"name": "/etc/motd", "content": "x"}], [], "0755", [], "files names '/etc/motd': give a path inside"),
    ([], ["../other"], "0755", [], "folders names '../other': give a path inside"),
    ([{"name": "keys/api_key", "content": "x"}], [], "0755", [],
     "files names 'keys/api_key', in a folder that neither path nor folders is: add 'keys' to folders"),
    ([{"name": "a.yaml", "content": "x", "mode": "rw-r--r--"}], [], "0755", [],
     "files[a.yaml].mode is 'rw-r--r--': give an octal mode such as '0644'"),
    ([], [], "755x", [], "mode is '755x': give an octal mode"),
    ([], [], "0755", ["../api_key"], "absent names '../api_key': give a path inside"),
    ([], [], "0755", ["keys/api_key"],
     "absent names 'keys/api_key', in a folder that neither path nor folders is: add 'keys' to folders"),
    ([{"name": "config.yaml", "content": "x"}], [], "0755", ["config.yaml"],
     "files and absent both name config.yaml: a file is either written or removed"),
])
def test_bad_names_and_modes_are_refused_before_anything_is_touched(tmp_path, capsys, files, folders, mode, absent,
                                                                    message):
    folder = tmp_path / "litellm"

    out = run(capsys, folder, files, folders=folders, mode=mode, absent=absent)

    assert out["failed"] is True
    assert message in out["msg"]
    assert not folder.exists()


def test_a_file_where_the_folder_should_be_is_refused(tmp_path, capsys):
    (tmp_path / "litellm").write_text("not a folder")

    out = run(capsys, tmp_path / "litellm", service_files()[:1])

    assert out["failed"] is True
    assert out["msg"] == "%s exists and is not a folder: move it away, then run again." % (tmp_path / "litellm")


def test_without_owner_and_group_a_rewritten_file_keeps_its_own(tmp_path, capsys):
    folder = tmp_path / "tls"
    folder.mkdir()
    (folder / "ca.crt").write_text("old\n")
    os.chown(folder / "ca.crt", 4242, 4343)
    args = {"path": str(folder), "files": [{"name": "ca.crt", "content": "new\n"}]}
    with patch_module_args(args), pytest.raises(SystemExit):
        config_files.main()

    assert json.loads(capsys.readouterr().out)["written"] == ["ca.crt"]
    written = (folder / "ca.crt").stat()
    assert (written.st_uid, written.st_gid) == (4242, 4343)
    assert (folder / "ca.crt").read_text() == "new\n"


def test_a_file_may_have_its_own_owner_and_created_tells_new_files_from_rewritten_ones(tmp_path, capsys):
    folder = tmp_path / "phoenix-key"
    key = {"name": "api_key", "content": "first", "mode": "0400", "owner": "4242"}

    first = run(capsys, folder, [key])
    second = run(capsys, folder, [dict(key, content="second")])

    assert (first["written"], first["created"]) == (["api_key"], ["api_key"])
    assert (second["written"], second["created"]) == (["api_key"], [])
    assert (folder / "api_key").stat().st_uid == 4242 and folder.stat().st_uid == os.getuid()
    assert mode_of(folder / "api_key") == "0400" and (folder / "api_key").read_text() == "second"


@pytest.mark.parametrize("options, file_options, message", [
    ({"owner": "no-such-user-here"}, {}, "owner is 'no-such-user-here', which names no user on this host"),
    ({}, {"group": "no-such-group-here"}, "files[a].group is 'no-such-group-here', which names no group on this host"),
])
def test_an_owner_or_group_that_names_nobody_is_refused_before_anything_is_touched(tmp_path, capsys, options,
                                                                                   file_options, message):
    folder = tmp_path / "litellm"
    args = dict({"path": str(folder), "files": [dict({"name": "a", "content": "x"}, **file_options)]}, **options)
    with patch_module_args(args), pytest.raises(SystemExit):
        config_files.main()

    out = json.loads(capsys.readouterr().out)
    assert out["failed"] is True
    assert out["msg"] == message + ": create it first, or give an id."
    assert not folder.exists()
