"""Shared test set-up: make the project's module_utils importable as ``ansible.module_utils.<name>``.

ansible.cfg points Ansible at ``module_utils/`` for playbook runs; tests import the same files through the
``ansible.module_utils`` package, as the modules do.
"""

import pathlib

import ansible.module_utils

PROJECT_MODULE_UTILS = str(pathlib.Path(__file__).resolve().parent.parent / "module_utils")

if PROJECT_MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(PROJECT_MODULE_UTILS)
