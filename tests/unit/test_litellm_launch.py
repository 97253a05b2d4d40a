"""The LiteLLM replicas' launcher (roles/litellm/files/launch.py), run against a stand-in `litellm` package that
records what the proxy would start with: LiteLLM is imported before the key file exists, the proxy starts only once
it does, with the key in PHOENIX_API_KEY (and the OTLP header when asked), and with the `litellm` command's arguments;
the image's preparation runs in between, and its failure keeps LiteLLM from starting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[2] / "roles/litellm/files/launch.py"


def stand_in(tmp_path: Path) -> Path:
    """A `litellm` package whose proxy server records its import and whose run_server records its start."""
    proxy = tmp_path / "pkgs/litellm/proxy"
    proxy.mkdir(parents=True)
    (tmp_path / "pkgs/litellm/__init__.py").write_text("")
    (proxy / "__init__.py").write_text("")
    (proxy / "proxy_server.py").write_text(
        "import os, time\n"
        "open(os.environ['PROBE_DIR'] + '/imported', 'w').write(str(time.time()))\n")
    (proxy / "proxy_cli.py").write_text(
        "import json, os, sys\n"
        "def run_server(args, prog_name):\n"
        "    env = {k: os.environ.get(k) for k in ('PHOENIX_API_KEY', 'OTEL_EXPORTER_OTLP_HEADERS',\n"
        "                                           'LLM_GATEWAY_PHOENIX_KEY_FILE')}\n"
        "    open(os.environ['PROBE_DIR'] + '/started', 'w').write(json.dumps(\n"
        "        {'args': args, 'prog': prog_name, 'env': env, 'modules': 'litellm.proxy.proxy_server' in sys.modules}))\n"
        "    sys.exit(0)\n")
    return tmp_path / "pkgs"


def launch(tmp_path: Path, key_file: Path, *args: str, otlp: str = "false", prepare: str = "") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(stand_in(tmp_path)), PROBE_DIR=str(tmp_path),
               LLM_GATEWAY_PHOENIX_KEY_FILE=str(key_file), LLM_GATEWAY_PHOENIX_KEY_OTLP_HEADER=otlp,
               LLM_GATEWAY_PREPARE=prepare)
    env.pop("PHOENIX_API_KEY", None)
    env.pop("OTEL_EXPORTER_OTLP_HEADERS", None)
    return subprocess.Popen([sys.executable, str(LAUNCHER), *args], env=env, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_imports_at_once_and_starts_only_once_the_key_is_written(tmp_path):
    key_file = tmp_path / "phoenix-key/api_key"
    key_file.parent.mkdir()
    process = launch(tmp_path, key_file, "--config", "/app/config.yaml", "--port", "4000")
    try:
        wait_for(tmp_path / "imported")
        time.sleep(0.6)  # three of the launcher's polls
        assert not (tmp_path / "started").exists(), "the proxy started before the key file existed"
        key_file.write_text("phoenix-key-for-this-test-only\n")
        assert process.wait(timeout=20) == 0, process.stderr.read()
    finally:
        process.kill()
    started = json.loads((tmp_path / "started").read_text())
    assert started["args"] == ["--config", "/app/config.yaml", "--port", "4000"] and started["prog"] == "litellm"
    assert started["modules"], "run_server did not find LiteLLM's proxy server already imported"
    # The key without the file's newline; the launcher's own settings are not left for LiteLLM.
    assert started["env"] == {"PHOENIX_API_KEY": "phoenix-key-for-this-test-only", "OTEL_EXPORTER_OTLP_HEADERS": None,
                              "LLM_GATEWAY_PHOENIX_KEY_FILE": None}
    assert "phoenix-key-for-this-test-only" not in process.stderr.read()


def started_env(tmp_path: Path, key: str) -> dict:
    """The environment LiteLLM starts with, the key file holding key already, for the otel callback."""
    key_file = tmp_path / "api_key"
    key_file.write_text(key)
    process = launch(tmp_path, key_file, otlp="true")
    assert process.wait(timeout=20) == 0, process.stderr.read()
    return json.loads((tmp_path / "started").read_text())["env"]


def test_the_otel_callback_gets_the_key_as_its_header(tmp_path):
    env = started_env(tmp_path, "phoenix-key-for-this-test-only")
    assert env["OTEL_EXPORTER_OTLP_HEADERS"] == "authorization=Bearer phoenix-key-for-this-test-only"


def test_an_empty_key_file_starts_the_proxy_without_a_key(tmp_path):
    env = started_env(tmp_path, "")
    assert env["PHOENIX_API_KEY"] is None and env["OTEL_EXPORTER_OTLP_HEADERS"] is None


def test_the_preparation_runs_once_the_key_is_there_before_litellm_starts(tmp_path):
    key_file = tmp_path / "phoenix-key/api_key"
    key_file.parent.mkdir()
    prepared = tmp_path / "prepared"
    script = f"test -f {key_file} && test ! -e {tmp_path / 'started'} && touch {prepared}"
    process = launch(tmp_path, key_file, prepare=json.dumps(["sh", "-c", script]))
    try:
        wait_for(tmp_path / "imported")
        time.sleep(0.6)
        assert not prepared.exists(), "the preparation ran before the key file existed"
        key_file.write_text("phoenix-key-for-this-test-only")
        assert process.wait(timeout=20) == 0, process.stderr.read()
    finally:
        process.kill()
    assert prepared.exists() and (tmp_path / "started").exists()


def test_a_failed_preparation_keeps_litellm_from_starting(tmp_path):
    key_file = tmp_path / "api_key"
    key_file.write_text("phoenix-key-for-this-test-only")
    process = launch(tmp_path, key_file, prepare=json.dumps(["sh", "-c", "exit 3"]))
    assert process.wait(timeout=20) == 3
    assert "failed (exit 3): LiteLLM is not started" in process.stderr.read()
    assert not (tmp_path / "started").exists()
