#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: phoenix_system_key
short_description: Ensure an Arize Phoenix system API key is valid, creating one when it is missing or revoked
description:
  - Checks the system API key the caller holds (for example in an Ansible vault) against an
    L(Arize Phoenix,https://arize.com/docs/phoenix) server with authentication on, and creates a new system API key
    through Phoenix's REST API (C(POST /v1/system/api_keys)) only when that key is missing or no longer accepted.
  - Phoenix makes the key and shows it once; the module returns it in RV(key), so the task that calls it must set
    C(no_log) and keep the key (in the vault). A valid key is returned unchanged, so a run that changes nothing sends
    no write.
  - The key is checked with C(GET /v1/user) sent with the key as a bearer token. C(200) naming a C(SYSTEM) user means
    valid; C(401) or C(403) means revoked, expired or signed with another C(PHOENIX_SECRET).
  - Creating a key needs an admin. The module authenticates with Phoenix's C(PHOENIX_ADMIN_SECRET) as a bearer token
    (read from Phoenix 20.26.1's source; an API key cannot create keys). The admin secret never changes through the
    UI, unlike the admin's password.
  - When Phoenix gives no answer or a server error, waits at most O(wait_timeout) seconds for C(/healthz) to answer.
version_added: "0.2.0"
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
      - Checks the key (a read) and reports RV(action=created) without creating one when it is missing or invalid.
      - When Phoenix cannot be reached at all, warns and reports the key as to be created.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  url:
    description: Base URL of Phoenix (its UI and REST API), for example C(http://127.0.0.1:6006).
    type: str
    required: true
  admin_secret:
    description: Phoenix's C(PHOENIX_ADMIN_SECRET), sent as a bearer token to create a key.
    type: str
    required: true
  key:
    description: The system API key held now; empty or omitted when none is held yet.
    type: str
    default: ""
  admin_password:
    description:
      - The password of Phoenix's C(admin@localhost), the one C(PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD) set at its first
        start. Phoenix asks that user for a new password at first login; when it still does, the module confirms this
        one as the admin's password (a login, then C(patchViewer) with the same password), so that the admin logs in
        with the password kept in the vault. Nothing is done when the admin changed the password already.
      - Empty or omitted leaves the admin alone.
    type: str
    default: ""
  name:
    description: Name of a key this module creates (shown in Phoenix's settings, where an admin can revoke it).
    type: str
    default: llm-gateway
  description:
    description: Description of a key this module creates.
    type: str
    default: Created by the llm_gateway.stack collection
  request_timeout:
    description: Timeout in seconds of each HTTP request.
    type: float
    default: 30
  wait_timeout:
    description: Seconds to wait for Phoenix's C(/healthz) when it does not answer; V(0) probes once.
    type: int
    default: 180
  validate_certs:
    description: Verify Phoenix's TLS certificate when O(url) is https.
    type: bool
    default: true
  ca_path:
    description: A PEM file of CA certificates to verify Phoenix's certificate with.
    type: path
notes:
  - Phoenix must run with C(PHOENIX_ENABLE_AUTH=true), C(PHOENIX_SECRET) and C(PHOENIX_ADMIN_SECRET).
  - A key replaced because it was invalid is not revoked (Phoenix already refuses it).
seealso:
  - name: Phoenix authentication
    description: API keys, the admin secret and the system user.
    link: https://arize.com/docs/phoenix/self-hosting/features/authentication
"""

EXAMPLES = r"""
- name: Ensure the system API key LiteLLM exports spans with
  llm_gateway.stack.phoenix_system_key:
    url: http://127.0.0.1:6006
    admin_secret: "{{ llm_gateway_secrets_values.phoenix_admin_secret }}"
    key: "{{ llm_gateway_secrets_values.phoenix_api_key | default('') }}"
    name: litellm-spans
  register: phoenix_key
  no_log: true  # the result holds the key

- name: Keep it in the vault
  llm_gateway.stack.vault_vars_file:
    path: "{{ inventory_dir }}/vault/secrets.vault.yml"
    vault_id: dev
    content:
      llm_gateway_secrets_values: "{{ llm_gateway_secrets_values | combine({'phoenix_api_key': phoenix_key.key}) }}"
  when: phoenix_key is changed
"""

RETURN = r"""
key:
  description:
    - The system API key created. Secret. A valid O(key) is not returned (the caller holds it).
  returned: when a key was created
  type: str
action:
  description: C(unchanged) when the given key is valid, C(created) when a key was (or in check mode would be) created.
  returned: success
  type: str
  sample: unchanged
reason:
  description: Why a key was created - C(missing) (none given) or C(invalid) (Phoenix refused it).
  returned: when RV(action=created)
  type: str
  sample: invalid
admin_password_confirmed:
  description: Whether the admin's password was (or in check mode would be) confirmed, ending Phoenix's request for a new one.
  returned: success
  type: bool
  sample: false
id:
  description: Phoenix's ID (a GlobalID) of the key created.
  returned: when a key was created
  type: str
  sample: U3lzdGVtQXBpS2V5OjE=
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.llm_gateway.stack.plugins.module_utils._httpx import httpx
from ansible_collections.llm_gateway.stack.plugins.module_utils._phoenix_client import PhoenixError, wait_ready
from ansible_collections.llm_gateway.stack.plugins.module_utils._tls_verify import tls_verify


# A seam for the unit tests (httpx.MockTransport).
TRANSPORT = None


def _client(params):
    verify = tls_verify(params["url"], params["validate_certs"], params["ca_path"], error=PhoenixError)
    return httpx.Client(base_url=params["url"].rstrip("/"), timeout=params["request_timeout"], verify=verify,
                        transport=TRANSPORT)


def _bearer(token):
    return {"Authorization": "Bearer " + token}


def key_is_valid(client, key):
    """True when Phoenix accepts the key as a system user's; False when it refuses it."""
    response = client.get("/v1/user", headers=_bearer(key))
    if response.status_code in (401, 403):
        return False
    if response.status_code != 200:
        raise PhoenixError("GET /v1/user answered HTTP %d: %s" % (response.status_code, response.text[:300]))
    role = (response.json().get("data") or {}).get("role")
    # A user's own key is valid but is not the system key this module manages: replace it.
    return role == "SYSTEM"


def create_key(client, admin_secret, name, description):
    response = client.post("/v1/system/api_keys", headers=_bearer(admin_secret),
                           json={"data": {"name": name, "description": description}})
    if response.status_code in (401, 403):
        raise PhoenixError("Phoenix refused the admin secret (HTTP %d): check that its PHOENIX_ADMIN_SECRET is the "
                           "admin_secret given and that authentication is on" % response.status_code)
    if response.status_code not in (200, 201):
        raise PhoenixError("POST /v1/system/api_keys answered HTTP %d: %s"
                           % (response.status_code, response.text[:300]))
    data = response.json()["data"]
    return data["key"], data["id"]


ADMIN_EMAIL = "admin@localhost"
PATCH_VIEWER = "mutation($input: PatchViewerInput!) { patchViewer(input: $input) { __typename } }"


def admin_needs_new_password(client, admin_secret):
    """Whether Phoenix still asks admin@localhost for a new password (GET /v1/users, as the admin)."""
    response = client.get("/v1/users", headers=_bearer(admin_secret), params={"limit": 1000})
    if response.status_code != 200:
        raise PhoenixError("GET /v1/users answered HTTP %d: %s" % (response.status_code, response.text[:300]))
    users = [u for u in response.json().get("data", []) if u.get("email") == ADMIN_EMAIL]
    return bool(users and users[0].get("password_needs_reset"))


def confirm_admin_password(client, password):
    """Logs in as the admin and sets the same password again: Phoenix then stops asking for a new one."""
    login = client.post("/auth/login", json={"email": ADMIN_EMAIL, "password": password})
    if login.status_code not in (200, 204):
        raise PhoenixError("Phoenix refused the admin's login (HTTP %d): is admin_password the password "
                           "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD set at Phoenix's first start?" % login.status_code)
    # Sent by hand: with PHOENIX_USE_SECURE_COOKIES the cookies are Secure, and a client keeps those from a plain
    # HTTP address (the module reaches Phoenix's published port, not the TLS entry point).
    session = "; ".join("%s=%s" % (cookie.name, cookie.value) for cookie in login.cookies.jar)
    patch = client.post("/graphql", headers={"Cookie": session},
                        json={"query": PATCH_VIEWER,
                              "variables": {"input": {"currentPassword": password, "newPassword": password}}})
    if patch.status_code != 200 or patch.json().get("errors"):
        raise PhoenixError("patchViewer failed (HTTP %d): %s" % (patch.status_code, str(patch.json().get("errors"))[:300]))
    client.cookies.clear()  # the admin's session: nothing later uses it


def ensure(client, params, check_mode):
    """The module's work, without AnsibleModule: returns the result dict (without 'changed')."""
    key = params["key"] or ""
    try:
        # Check mode probes once: a host without Phoenix yet is no error there.
        wait_ready(client, 0 if check_mode else params["wait_timeout"])
    except PhoenixError as exc:
        if not check_mode:
            raise
        return {"action": "created", "reason": "unknown", "admin_password_confirmed": False,
                "warning": "%s: a key would be checked, or created" % exc}
    confirmed = bool(params["admin_password"]) and admin_needs_new_password(client, params["admin_secret"])
    if confirmed and not check_mode:
        confirm_admin_password(client, params["admin_password"])
    if key and key_is_valid(client, key):
        # Not returned: Ansible masks the values of no_log options in results anyway.
        return {"action": "unchanged", "admin_password_confirmed": confirmed}
    reason = "invalid" if key else "missing"
    if check_mode:
        return {"action": "created", "reason": reason, "admin_password_confirmed": confirmed}
    new_key, key_id = create_key(client, params["admin_secret"], params["name"], params["description"])
    return {"action": "created", "reason": reason, "key": new_key, "id": key_id, "admin_password_confirmed": confirmed}


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            admin_secret=dict(type="str", required=True, no_log=True),
            key=dict(type="str", default="", no_log=True),
            admin_password=dict(type="str", default="", no_log=True),
            name=dict(type="str", default="llm-gateway"),
            description=dict(type="str", default="Created by the llm_gateway.stack collection"),
            request_timeout=dict(type="float", default=30),
            wait_timeout=dict(type="int", default=180),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
        ),
        supports_check_mode=True,
    )
    if httpx is None:
        module.fail_json(msg=missing_required_lib("httpx"))
    if not module.params["admin_secret"]:
        module.fail_json(msg="admin_secret is empty: give Phoenix's PHOENIX_ADMIN_SECRET (from the vault).")
    try:
        with _client(module.params) as client:
            result = ensure(client, module.params, module.check_mode)
    except (PhoenixError, httpx.HTTPError) as exc:
        module.fail_json(msg="%s (url: %s)" % (exc, module.params["url"]))
    warning = result.pop("warning", None)
    if warning:
        module.warn(warning)
    module.exit_json(changed=result["action"] == "created" or result["admin_password_confirmed"], **result)


if __name__ == "__main__":
    main()
