"""_httpx: the modules' httpx, imported without trio and httpx's command line, which the modules never use."""

import subprocess
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[4] / ".collections"


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={"PYTHONPATH": str(COLLECTIONS)})


def test_httpx_is_imported_without_trio_or_click_and_both_stay_importable():
    result = run_python(
        "import sys\n"
        "from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import HTTPX_IMPORT_ERROR, httpx\n"
        "assert HTTPX_IMPORT_ERROR is None and httpx.Client, HTTPX_IMPORT_ERROR\n"
        "assert 'trio' not in sys.modules and 'click' not in sys.modules, sorted(sys.modules)\n"
        "import click, trio\n"  # the hiding ends with the import: other code of the process still gets them
        "print('ok', click.__name__, trio.__name__)\n")
    assert result.returncode == 0 and result.stdout.strip() == "ok click trio", result.stderr


def test_a_process_that_already_imported_trio_keeps_it():
    result = run_python(
        "import sys, trio\n"
        "from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx\n"
        "assert sys.modules['trio'] is trio\n"
        "print('ok')\n")
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr
