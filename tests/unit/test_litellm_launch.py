"""The LiteLLM replicas' launcher (roles/litellm/files/launch.py), run against a stand-in `litellm` package that
records what the proxy would start with: LiteLLM is imported and its server started before the key file exists, the
server's startup (each worker's) goes on only once the file exists, with the key in PHOENIX_API_KEY (and the OTLP
header when asked), and with the `litellm` command's arguments; the image's preparation runs between the import and
the server, and its failure keeps LiteLLM from starting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[2] / "roles/litellm/files/launch.py"


def stand_in(tmp_path: Path) -> Path:
    """A `litellm` package whose proxy server records its import and whose app's startup (its lifespan, as FastAPI
    keeps it) records the environment LiteLLM would read its callbacks' keys from; run_server records its call, then
    runs that startup as a worker does."""
    proxy = tmp_path / "pkgs/litellm/proxy"
    proxy.mkdir(parents=True)
    (tmp_path / "pkgs/litellm/__init__.py").write_text("")
    (proxy / "__init__.py").write_text("")
    (proxy / "proxy_server.py").write_text(
        "import contextlib, json, os, time, types\n"
        "open(os.environ['PROBE_DIR'] + '/imported', 'w').write(str(time.time()))\n"
        "@contextlib.asynccontextmanager\n"
        "async def startup(app):\n"
        "    env = {k: os.environ.get(k) for k in ('PHOENIX_API_KEY', 'OTEL_EXPORTER_OTLP_HEADERS',\n"
        "                                           'LLM_GATEWAY_PHOENIX_KEY_FILE')}\n"
        "    open(os.environ['PROBE_DIR'] + '/started', 'w').write(json.dumps({'env': env, 'app': app is APP}))\n"
        "    yield {'state': 'of LiteLLM'}\n"
        "APP = app = types.SimpleNamespace(router=types.SimpleNamespace(lifespan_context=startup))\n")
    (proxy / "db").mkdir()
    (proxy / "db/__init__.py").write_text("")
    (proxy / "db/check_migration.py").write_text(
        "import os\n"
        "def check_prisma_schema_diff(db_url=None):\n"
        "    open(os.environ['PROBE_DIR'] + '/schema-diff', 'w').write('checked')\n")
    (proxy / "proxy_cli.py").write_text(
        "import asyncio, json, os, sys\n"
        "def run_server(args, prog_name):\n"
        "    from litellm.proxy.proxy_server import app\n"
        "    from litellm.proxy.db.check_migration import check_prisma_schema_diff\n"
        "    check_prisma_schema_diff(db_url=None)\n"
        "    open(os.environ['PROBE_DIR'] + '/server', 'w').write(json.dumps(\n"
        "        {'args': args, 'prog': prog_name, 'modules': 'litellm.proxy.proxy_server' in sys.modules}))\n"
        "    async def worker():\n"
        "        async with app.router.lifespan_context(app) as state:\n"
        "            assert state == {'state': 'of LiteLLM'}, state\n"
        "    asyncio.run(worker())\n"
        "    sys.exit(0)\n")
    return tmp_path / "pkgs"


def launch(tmp_path: Path, key_file: Path, *args: str, otlp: str = "false", prepare: str = "",
           skip_schema_diff: str = "false") -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(stand_in(tmp_path)), PROBE_DIR=str(tmp_path),
               LLM_GATEWAY_PHOENIX_KEY_FILE=str(key_file), LLM_GATEWAY_PHOENIX_KEY_OTLP_HEADER=otlp,
               LLM_GATEWAY_PREPARE=prepare, LLM_GATEWAY_SKIP_SCHEMA_DIFF=skip_schema_diff)
    env.pop("PHOENIX_API_KEY", None)
    env.pop("OTEL_EXPORTER_OTLP_HEADERS", None)
    return subprocess.Popen([sys.executable, str(LAUNCHER), *args], env=env, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_imports_and_starts_the_server_at_once_and_its_startup_once_the_key_is_written(tmp_path):
    key_file = tmp_path / "phoenix-key/api_key"
    key_file.parent.mkdir()
    process = launch(tmp_path, key_file, "--config", "/app/config.yaml", "--port", "4000")
    try:
        wait_for(tmp_path / "imported")
        wait_for(tmp_path / "server")
        time.sleep(0.6)  # three of the launcher's polls
        assert not (tmp_path / "started").exists(), "LiteLLM's startup ran before the key file existed"
        key_file.write_text("phoenix-key-for-this-test-only\n")
        assert process.wait(timeout=20) == 0, process.stderr.read()
    finally:
        process.kill()
    server = json.loads((tmp_path / "server").read_text())
    assert server["args"] == ["--config", "/app/config.yaml", "--port", "4000"] and server["prog"] == "litellm"
    assert server["modules"], "run_server did not find LiteLLM's proxy server already imported"
    started = json.loads((tmp_path / "started").read_text())
    assert started["app"], "LiteLLM's startup did not get its app"
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


def test_the_preparation_runs_after_the_import_before_the_server_without_the_key(tmp_path):
    key_file = tmp_path / "phoenix-key/api_key"
    key_file.parent.mkdir()
    prepared = tmp_path / "prepared"
    script = f"test -f {tmp_path / 'imported'} && test ! -e {tmp_path / 'server'} && touch {prepared}"
    process = launch(tmp_path, key_file, prepare=json.dumps(["sh", "-c", script]))
    try:
        wait_for(tmp_path / "server")
        assert prepared.exists(), "the preparation did not run between LiteLLM's import and its server"
        key_file.write_text("phoenix-key-for-this-test-only")
        assert process.wait(timeout=20) == 0, process.stderr.read()
    finally:
        process.kill()
    assert (tmp_path / "started").exists()


def test_a_failed_preparation_keeps_litellm_from_starting(tmp_path):
    key_file = tmp_path / "api_key"
    key_file.write_text("phoenix-key-for-this-test-only")
    process = launch(tmp_path, key_file, prepare=json.dumps(["sh", "-c", "exit 3"]))
    assert process.wait(timeout=20) == 3
    assert "failed (exit 3): LiteLLM is not started" in process.stderr.read()
    assert not (tmp_path / "server").exists() and not (tmp_path / "started").exists()


def test_the_schema_diff_is_skipped_only_when_asked(tmp_path):
    key_file = tmp_path / "api_key"
    key_file.write_text("phoenix-key-for-this-test-only")
    for skip, checked in (("true", False), ("false", True)):
        run_dir = tmp_path / skip
        run_dir.mkdir()
        process = launch(run_dir, key_file, skip_schema_diff=skip)
        assert process.wait(timeout=20) == 0, process.stderr.read()
        assert (run_dir / "schema-diff").exists() is checked, f"LLM_GATEWAY_SKIP_SCHEMA_DIFF={skip}"
        assert ("schema diff check skipped" in process.stderr.read()) is not checked
