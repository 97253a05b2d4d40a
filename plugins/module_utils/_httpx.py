# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# httpx for the modules' clients, imported without two packages it loads only because they happen to be installed:
# httpcore imports trio (an async library, about 0.12 s) and httpx its command line (click, with rich and pygments,
# about 0.07 s) whenever they can be imported. The modules' clients are synchronous and use neither. On a host whose
# Python also holds Selenium or Molecule, as the dev controller's does, that was a quarter of each module's run.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import sys
import traceback

UNUSED_BY_THE_MODULES = ("trio", "click")


def _import_httpx():
    hidden = [name for name in UNUSED_BY_THE_MODULES if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # "import name" then raises ImportError, which httpx and httpcore expect
    try:
        # httpx imports httpcore only when a client is made: imported now, httpcore keeps trio's absence.
        importlib.import_module("httpcore")
        import httpx
    except ImportError:
        return None, traceback.format_exc()
    finally:
        for name in hidden:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]
    return httpx, None


httpx, HTTPX_IMPORT_ERROR = _import_httpx()
