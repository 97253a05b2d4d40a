"""_httpx: the modules' httpx, imported without trio and httpx's command line, which the modules never use.

Each test runs a fresh Python (the hiding acts at import time), with stand-ins for trio and click on its path: the
tests need neither package installed, and tell a stand-in imported by httpx from one imported by the test."""

import os
import subprocess
import sys

import pytest


@pytest.fixture
def printed_by(tmp_path):
    """What a fresh Python prints running code, which must succeed."""
    (tmp_path / "trio.py").write_text("STAND_IN = True\n")
    # httpx's command line decorates its functions with click's at import: any attribute is a no-op decorator here.
    (tmp_path / "click.py").write_text(
        "STAND_IN = True\n\n\n"
        "def __getattr__(name):\n"
        "    return lambda *args, **kwargs: lambda function=None, *more, **options: function\n")

    def run(code):
        path = os.pathsep.join([str(tmp_path)] + [entry for entry in sys.path if entry])
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                                env={**os.environ, "PYTHONPATH": path})
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()
    return run


def test_httpx_is_imported_without_trio_or_click_and_both_stay_importable(printed_by):
    printed = printed_by(
        "import sys\n"
        "from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import HTTPX_IMPORT_ERROR, httpx\n"
        "assert HTTPX_IMPORT_ERROR is None, HTTPX_IMPORT_ERROR\n"
        "httpx.Client(base_url='http://127.0.0.1:9').close()\n"  # httpcore comes with the client's transport
        "assert 'trio' not in sys.modules and 'click' not in sys.modules\n"
        "import click, trio\n"  # the hiding ends with the import: other code of the process still gets them
        "print('ok', click.STAND_IN, trio.STAND_IN)\n")
    assert printed == "ok True True"


def test_a_process_that_already_imported_trio_keeps_it(printed_by):
    printed = printed_by(
        "import sys, trio\n"
        "from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx\n"
        "assert sys.modules['trio'] is trio and trio.STAND_IN\n"
        "print('ok')\n")
    assert printed == "ok"


def test_without_the_hiding_httpx_would_import_both(printed_by):
    """The stand-ins are found where httpx and httpcore look: the first test can fail."""
    printed = printed_by(
        "import sys, httpx\n"
        "httpx.Client(base_url='http://127.0.0.1:9').close()\n"
        "print(sorted(name for name in ('trio', 'click') if name in sys.modules))\n")
    assert printed == "['click', 'trio']"
