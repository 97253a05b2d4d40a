# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Plumbing for the litellm_virtual_key module: a small HTTP client for LiteLLM's key management API
# (readiness wait, /key/list, /key/generate, /key/update, /key/delete) with request counting and
# errors that name the method, path, HTTP status and LiteLLM's own message.
#
# The client never returns a plaintext virtual key: /key/generate's answer is reduced to its token
# (the sha256 hex of the secret) and key_name before it leaves this file.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx
from ansible_collections.llm_gateway.stack.plugins.module_utils._tls_verify import tls_verify


HAS_HTTPX = httpx is not None

READINESS_PATH = "/health/readiness"
LIST_PAGE_SIZE = 100
# A deploy waits on this poll for LiteLLM's first start: a short interval gets the keys made as soon as it is ready.
READINESS_POLL_INTERVAL = 0.5


class LiteLLMError(Exception):
    """A request to LiteLLM failed. ``status`` is the HTTP status, or None when no answer came."""

    def __init__(self, msg, method=None, path=None, status=None, api_message=None):
        super(LiteLLMError, self).__init__(msg)
        self.method = method
        self.path = path
        self.status = status
        self.api_message = api_message


class LiteLLMAuthError(LiteLLMError):
    """LiteLLM answered 401 or 403: the master key was rejected."""


class LiteLLMNotReady(LiteLLMError):
    """LiteLLM did not report ready (with its database connected) within the wait."""


def api_error_message(response):
    """LiteLLM's own explanation from an error answer: ``error.message`` or ``detail``, else the raw body (cut)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str) and error:
            return error
        detail = body.get("detail")
        if isinstance(detail, dict):
            inner = detail.get("error")
            if inner:
                return inner if isinstance(inner, str) else json.dumps(inner)
            return json.dumps(detail)
        if detail:
            return str(detail)
    text = response.text.strip()
    return text[:500] if text else "(empty body)"


class LiteLLMClient:
    """Talks to one LiteLLM proxy with its master key; counts every HTTP request it sends in ``requests``."""

    def __init__(self, url, master_key, validate_certs=True, ca_path=None, timeout=30.0, transport=None,
                 sleep=time.sleep, monotonic=time.monotonic):
        if not HAS_HTTPX:
            raise RuntimeError("httpx is required")
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.requests = {"read": 0, "write": 0}
        self._sleep = sleep
        self._monotonic = monotonic
        verify = tls_verify(self.url, validate_certs, ca_path, error=LiteLLMError)
        kwargs = dict(base_url=self.url, timeout=timeout,
                      headers={"Authorization": "Bearer %s" % master_key, "Accept": "application/json"})
        if transport is not None:
            kwargs["transport"] = transport
        else:
            kwargs["verify"] = verify
        self._http = httpx.Client(**kwargs)

    def close(self):
        self._http.close()

    # -- low level -------------------------------------------------------------------------------

    def _send(self, method, path, params=None, body=None, timeout=None):
        """Send one request; return the httpx response. Transport failures raise LiteLLMError (status None)."""
        self.requests["read" if method == "GET" else "write"] += 1
        try:
            return self._http.request(method, path, params=params, json=body,
                                      timeout=self.timeout if timeout is None else timeout)
        except httpx.HTTPError as e:
            raise LiteLLMError("%s %s%s failed without an HTTP answer: %s: %s"
                               % (method, self.url, path, type(e).__name__, e or "no detail"),
                               method=method, path=path)

    def call(self, method, path, params=None, body=None, accept=(200,)):
        """Send one API request; return (status, parsed JSON body). Statuses outside ``accept`` raise."""
        response = self._send(method, path, params=params, body=body)
        if response.status_code in accept:
            try:
                return response.status_code, response.json()
            except ValueError:
                if response.status_code >= 300:
                    return response.status_code, None
                raise LiteLLMError("%s %s answered HTTP %d with a body that is not JSON: %r"
                                   % (method, path, response.status_code, response.text[:200]),
                                   method=method, path=path, status=response.status_code)
        message = api_error_message(response)
        if response.status_code in (401, 403):
            raise LiteLLMAuthError(
                "LiteLLM rejected the master key (HTTP %d) on %s %s%s: %s. Check that master_key matches the proxy's "
                "LITELLM_MASTER_KEY." % (response.status_code, method, self.url, path, message),
                method=method, path=path, status=response.status_code, api_message=message)
        raise LiteLLMError("LiteLLM API error: %s %s%s answered HTTP %d: %s"
                           % (method, self.url, path, response.status_code, message),
                           method=method, path=path, status=response.status_code, api_message=message)

    # -- readiness -------------------------------------------------------------------------------

    def probe_ready(self, timeout=None):
        """One readiness probe. Return (ready, what was seen). Raise LiteLLMError when no answer came."""
        response = self._send("GET", READINESS_PATH, timeout=min(self.timeout, 10.0) if timeout is None else timeout)
        seen = "HTTP %d %s" % (response.status_code, response.text.strip()[:300])
        if response.status_code != 200:
            return False, seen
        try:
            body = response.json()
        except ValueError:
            return False, seen
        return isinstance(body, dict) and str(body.get("db", "")).lower() == "connected", seen

    def wait_ready(self, wait_timeout):
        """Poll /health/readiness until it answers 200 with ``"db": "connected"``, for at most wait_timeout seconds.

        Raise LiteLLMNotReady naming the URL and what was seen last (an answer, or why none came). A probe's own
        timeout is cut to the time left, so the wait overruns wait_timeout by about a second at most.
        """
        deadline = self._monotonic() + max(0, wait_timeout)
        while True:
            remaining = deadline - self._monotonic()
            try:
                ready, seen = self.probe_ready(timeout=min(self.timeout, 10.0, max(remaining, 1.0)))
            except LiteLLMError as e:
                ready, seen = False, str(e)
            if ready:
                return
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                raise LiteLLMNotReady("LiteLLM at %s was not ready (GET %s: 200 with the database connected) within "
                                      "%s s; last seen: %s" % (self.url, READINESS_PATH, wait_timeout, seen),
                                      method="GET", path=READINESS_PATH)
            self._sleep(min(READINESS_POLL_INTERVAL, remaining))

    # -- key API ---------------------------------------------------------------------------------

    def list_keys(self):
        """Every key row LiteLLM holds (full objects), reading further pages only when total_pages > 1."""
        rows = []
        page = 1
        while True:
            params = {"return_full_object": "true", "size": LIST_PAGE_SIZE, "page": page}
            dummy, body = self.call("GET", "/key/list", params=params)
            if not isinstance(body, dict) or not isinstance(body.get("keys"), list):
                raise LiteLLMError("GET %s/key/list answered an unexpected body (no 'keys' list): %r"
                                   % (self.url, str(body)[:200]), method="GET", path="/key/list", status=200)
            for row in body["keys"]:
                if not isinstance(row, dict):
                    raise LiteLLMError("GET %s/key/list returned hashes instead of key objects; this LiteLLM "
                                       "ignores return_full_object=true" % self.url,
                                       method="GET", path="/key/list", status=200)
                rows.append(row)
            total_pages = body.get("total_pages") or 1
            if page >= total_pages:
                return rows
            page += 1

    def generate_key(self, body):
        """POST /key/generate; return {"token", "key_name"} only (never the plaintext key)."""
        dummy, answer = self.call("POST", "/key/generate", body=body)
        answer = answer or {}
        return {"token": answer.get("token_id") or answer.get("token"), "key_name": answer.get("key_name")}

    def update_key(self, body):
        """POST /key/update with ``key`` (hash or plaintext) plus the fields to change."""
        self.call("POST", "/key/update", body=body)

    def delete_keys(self, tokens=None, aliases=None):
        """POST /key/delete by token or by alias. Return False when LiteLLM found nothing to delete (404)."""
        body = {"keys": list(tokens)} if tokens else {"key_aliases": list(aliases or [])}
        status, dummy = self.call("POST", "/key/delete", body=body, accept=(200, 404))
        return status == 200
