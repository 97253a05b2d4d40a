#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: litellm_virtual_key
short_description: Ensure LiteLLM proxy virtual keys with caller-owned secrets
description:
  - Creates, updates, replaces and deletes virtual keys of a L(LiteLLM,https://docs.litellm.ai/docs/proxy/virtual_keys)
    proxy through its key management API, with the proxy's master key.
  - The caller owns every key's secret (for example in an Ansible vault) and passes it in O(keys[].secret); the module
    never invents a secret. LiteLLM stores only the sha256 hash of a secret (its C(token)), so a key is recognised by
    that hash, and by its alias.
  - Reads the state of all keys with one C(GET /key/list) request (one more per further 100 keys LiteLLM holds), so
    a run that changes nothing sends no per-key request and no write.
  - When that first request gets no answer or a server error (LiteLLM starting, its database not connected), waits
    for at most O(wait_timeout) seconds until C(/health/readiness) answers 200 with the database connected, then
    reads again.
  - No secret appears in any return value or diff; keys are reported by token (hash) and C(key_name) (C(sk-...) plus
    the last four characters, as LiteLLM shows them).
version_added: "0.1.0"
author:
  - llm-gateway-ansible contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - httpx (Python library) on the host that runs the module
attributes:
  check_mode:
    support: full
    details:
      - Sends read requests only and reports what would change.
      - When LiteLLM cannot be reached at all (no HTTP answer), warns and reports every present key as created, so a
        check-mode run against a host without LiteLLM yet does not fail.
  diff_mode:
    support: full
    details:
      - Before and after per alias with token, key_name, models, metadata and limits. Never a secret.
  platform:
    support: full
    platforms: posix
options:
  url:
    description: Base URL of the LiteLLM proxy.
    type: str
    required: true
  master_key:
    description: LiteLLM's master key (C(LITELLM_MASTER_KEY)), sent as a bearer token.
    type: str
    required: true
  validate_certs:
    description: Verify the proxy's TLS certificate when O(url) is https.
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify the proxy's certificate with.
    type: path
  request_timeout:
    description: Timeout in seconds of each HTTP request.
    type: float
    default: 30
  wait_timeout:
    description:
      - Seconds to wait for C(GET /health/readiness) to answer 200 with C("db":"connected"), when the first
        C(GET /key/list) gets no answer or a server error.
      - When the time is up, the module fails with the URL and what it saw last. V(0) probes once.
      - In check mode, a proxy that gives no HTTP answer at all is not waited for (see the check_mode attribute).
    type: int
    default: 120
  keys:
    description: The virtual keys to ensure. Keys of LiteLLM not listed here are left alone.
    type: list
    elements: dict
    required: true
    suboptions:
      alias:
        description: The key's alias (C(key_alias)); unique in LiteLLM and in this list.
        type: str
        required: true
      state:
        description: Whether the key should exist.
        type: str
        choices: [present, absent]
        default: present
      secret:
        description:
          - The key's plaintext secret. Required when O(keys[].state=present); ignored when absent.
          - Must start with C(sk-) and be at least 32 characters long.
        type: str
      models:
        description: Models the key may use; V([]) means every model.
        type: list
        elements: str
        default: []
      metadata:
        description: The key's metadata, compared and sent whole.
        type: dict
        default: {}
      duration:
        description:
          - Lifetime of a key created or replaced by this task (for example V(30d)); omitted means it never expires.
          - Applied only when the key is created or replaced, because LiteLLM stores only the resulting expiry date.
        type: str
      max_budget:
        description: Budget in USD; omitted means none (a budget set out of band on this key is cleared).
        type: float
      budget_duration:
        description: Budget reset period (for example V(30d)); omitted means none.
        type: str
      rpm_limit:
        description: Requests per minute; omitted means no limit (a limit set out of band is cleared).
        type: int
      tpm_limit:
        description: Tokens per minute; omitted means no limit.
        type: int
      max_parallel_requests:
        description: Concurrent requests; omitted means no limit.
        type: int
      replace:
        description:
          - When the alias is held in LiteLLM by a key with another secret, replace that key with the given secret
            (keeping the alias) instead of failing. This is how to rotate a key, since C(/key/regenerate) needs a
            LiteLLM Enterprise licence.
          - The replaced key stops working. Leaving it V(true) is safe; it only acts when the secrets differ.
        type: bool
        default: false
notes:
  - An alias held by a key with another secret, without O(keys[].replace), fails before any write, with the choices
    spelled out.
  - If a write fails midway, the failure still carries RV(virtual_keys) with the keys finished before it.
  - A replace moves the old key's alias aside (C(ALIAS--replaced-TOKENPREFIX)), creates the new key with the alias and
    deletes the old key; should the delete fail, the old key remains under the aside alias.
seealso:
  - name: LiteLLM virtual keys
    description: LiteLLM's documentation of virtual keys.
    link: https://docs.litellm.ai/docs/proxy/virtual_keys
"""

EXAMPLES = r"""
- name: Ensure the app's virtual keys (secrets come from the vault)
  llm_gateway.stack.litellm_virtual_key:
    url: http://127.0.0.1:4000
    master_key: "{{ llm_gateway_litellm_master_key }}"
    keys:
      - alias: app-dev
        secret: "{{ llm_gateway_app_dev_key }}"
        models: [gpt-4o-mini]
        metadata:
          environment: dev
      - alias: app-eval
        secret: "{{ llm_gateway_app_eval_key }}"
        metadata:
          environment: eval
  register: llm_gateway_keys

- name: Rotate a key (new secret in the vault, keep the alias)
  llm_gateway.stack.litellm_virtual_key:
    url: http://127.0.0.1:4000
    master_key: "{{ llm_gateway_litellm_master_key }}"
    keys:
      - alias: app-dev
        secret: "{{ llm_gateway_app_dev_key_new }}"
        replace: true

- name: Remove a key
  llm_gateway.stack.litellm_virtual_key:
    url: http://127.0.0.1:4000
    master_key: "{{ llm_gateway_litellm_master_key }}"
    keys:
      - alias: app-old
        state: absent
"""

RETURN = r"""
virtual_keys:
  description:
    - One entry per O(keys) entry, in order. On failure, the entries finished before the failing write.
  returned: always
  type: list
  elements: dict
  contains:
    alias:
      description: The key's alias.
      type: str
    state:
      description: The requested state.
      type: str
    action:
      description: What was done, or would be done in check mode.
      type: str
      choices: [created, updated, replaced, unchanged, deleted, absent]
    changed:
      description: Whether this key changed.
      type: bool
    token:
      description: The key's token (sha256 hex of the secret); for a deleted key, the deleted key's; null when absent.
      type: str
    key_name:
      description: LiteLLM's display name of the key (C(sk-...) and the last four characters).
      type: str
  sample:
    - alias: app-dev
      state: present
      action: created
      changed: true
      token: 9f2c5e0c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e
      key_name: sk-...Q2xw
requests:
  description: HTTP requests sent to LiteLLM (GETs, readiness probes included, and writes).
  returned: always
  type: dict
  sample: {read: 1, write: 0}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import HTTPX_IMPORT_ERROR
from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_client import (
    HAS_HTTPX,
    LiteLLMAuthError,
    LiteLLMClient,
    LiteLLMError,
)
from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_keys import (
    ApplyError,
    PlanError,
    apply_steps,
    diff_of,
    plan_keys,
    result_of,
    validate_keys,
)

KEY_OPTIONS = dict(
    alias=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    secret=dict(type="str", no_log=True),
    models=dict(type="list", elements="str", default=[]),
    metadata=dict(type="dict", default={}),
    duration=dict(type="str"),
    max_budget=dict(type="float"),
    budget_duration=dict(type="str"),
    rpm_limit=dict(type="int"),
    tpm_limit=dict(type="int"),
    max_parallel_requests=dict(type="int"),
    replace=dict(type="bool", default=False),
)

ARGUMENT_SPEC = dict(
    url=dict(type="str", required=True),
    master_key=dict(type="str", required=True, no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    request_timeout=dict(type="float", default=30),
    wait_timeout=dict(type="int", default=120),
    # Not a secret itself: each entry's secret is no_log (KEY_OPTIONS).
    keys=dict(type="list", elements="dict", required=True, no_log=False, options=KEY_OPTIONS,
              required_if=[("state", "present", ["secret"])]),
)


def read_current(module, client):
    """Every key row of LiteLLM, or None in check mode when LiteLLM gives no answer at all (with a warning).

    The key list is asked first: its answer proves LiteLLM ready with its database, so a run against a ready proxy
    costs one request per 100 keys. Only when it gets no answer or a server error does the module wait for
    /health/readiness (at most wait_timeout) and ask again.
    """
    try:
        return client.list_keys()
    except LiteLLMError as e:
        if isinstance(e, LiteLLMAuthError) or (e.status is not None and e.status < 500):
            raise
        if module.check_mode and e.status is None:
            module.warn("check mode: LiteLLM at %s cannot be reached (%s); reporting every present key as to be "
                        "created" % (client.url, e))
            return None
    client.wait_ready(module.params["wait_timeout"])
    return client.list_keys()


def run_module():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, supports_check_mode=True)
    if not HAS_HTTPX:
        module.fail_json(msg=missing_required_lib("httpx"), exception=HTTPX_IMPORT_ERROR)

    keys = module.params["keys"]
    errors = validate_keys(keys)
    if errors:
        module.fail_json(msg="Invalid keys: %s" % "; ".join(errors), virtual_keys=[], requests={"read": 0, "write": 0})

    client = None
    results = []
    steps = []
    try:
        client = LiteLLMClient(module.params["url"], module.params["master_key"],
                               validate_certs=module.params["validate_certs"], ca_path=module.params["ca_path"],
                               timeout=module.params["request_timeout"])
        rows = read_current(module, client)
        steps = plan_keys(rows or [], keys)
        if module.check_mode:
            results = [result_of(step) for step in steps]
        else:
            apply_steps(client, steps, results)
    except PlanError as e:
        module.fail_json(msg="Cannot ensure the LiteLLM keys: %s" % e, virtual_keys=results, requests=client.requests,
                         exception=traceback.format_exc())
    except (LiteLLMError, ApplyError) as e:
        module.fail_json(msg=to_native(e), virtual_keys=results,
                         requests=client.requests if client else {"read": 0, "write": 0},
                         exception=traceback.format_exc())
    finally:
        if client is not None:
            client.close()

    result = dict(changed=any(r["changed"] for r in results), virtual_keys=results, requests=client.requests)
    if module._diff:
        result["diff"] = diff_of(steps)
    module.exit_json(**result)


def main():
    run_module()


if __name__ == "__main__":
    main()
