# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# What the Phoenix modules (phoenix_system_key, phoenix_trace_retention) share: their error, and the wait for
# Phoenix's /healthz on an httpx client.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx


class PhoenixError(Exception):
    pass


# A first deploy waits on this poll for Phoenix's first start (LiteLLM needs the key made after it).
HEALTHZ_POLL_INTERVAL = 0.5


def wait_ready(client, timeout, sleep=time.sleep, clock=time.monotonic):
    """Waits until /healthz answers 200; raises PhoenixError with what it saw last when the time is up."""
    deadline = clock() + timeout
    while True:
        try:
            response = client.get("/healthz")
            if response.status_code == 200:
                return
            last = "HTTP %d" % response.status_code
        except httpx.HTTPError as exc:
            last = "%s: %s" % (type(exc).__name__, exc)
        if clock() >= deadline:
            raise PhoenixError("Phoenix at %s was not ready after %d s (last: %s)" % (client.base_url, timeout, last))
        sleep(HEALTHZ_POLL_INTERVAL)
