# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE)
"""The default output, with waits that read as waits: a retried task prints what it waits for and for how long."""

from __future__ import annotations

DOCUMENTATION = r"""
name: progress
type: stdout
short_description: The default output; a retried task reads as a wait, not as a failure
description:
  - >-
    Prints exactly what C(ansible.builtin.default) prints, except for the retries of a task with C(until):
    instead of one C(FAILED - RETRYING ... (N retries left)) line per attempt it prints
    C(... still waiting: TASK (12 s so far, gives up after 300 s)) at most every 5 seconds.
  - A task that runs out of retries still fails as usual, with its own message.
  - This repository's ansible.cfg selects it (C(stdout_callback = llm_gateway.stack.progress)).
author:
  - llm-gateway-ansible contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.default_callback
  - ansible.builtin.result_format_callback
requirements:
  - set as stdout callback in ansible.cfg
"""

import time

from ansible import constants as C
from ansible.plugins.callback.default import CallbackModule as DefaultCallback

# Seconds between two "still waiting" lines of the same wait.
REPORT_EVERY = 5


class CallbackModule(DefaultCallback):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "llm_gateway.stack.progress"

    def __init__(self):
        super().__init__()
        # (task, host, item) -> [monotonic start of the wait, seconds reported last]
        self._waits = {}

    def v2_runner_retry(self, result):
        task, res = result.task, result.result
        key = (task._uuid, result.host.get_name(), repr(res.get("_ansible_item_label", res.get("item"))))
        delay = _number(getattr(task, "delay", 0))
        now = time.monotonic()
        # The first retry comes one attempt and one delay after the wait began.
        wait = self._waits.setdefault(key, [now - delay, None])
        elapsed = int(now - wait[0])
        if wait[1] is not None and elapsed // REPORT_EVERY == wait[1] // REPORT_EVERY:
            return
        wait[1] = elapsed
        # Ansible counts the first attempt among "retries".
        limit = max(_number(res.get("retries", 0)) - 1, 0) * delay
        name = result.task_name or task.get_name()
        msg = "... still waiting: [%s]: %s (%d s so far%s)" % (
            self.host_label(result), name.strip(), elapsed, ", gives up after %d s" % limit if limit else "")
        if self._run_is_verbose(result, verbosity=2):
            msg += " Last attempt: %s" % self._dump_results(res)
        self._display.display(msg, color=C.COLOR_SKIP)


def _number(value):
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
