# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
# Decision logic of the litellm_virtual_key module, kept free of HTTP so it can be tested on its own:
#   validate_keys()  - argument checks that need no request (duplicates, secret format)
#   plan_keys()      - from LiteLLM's current key rows and the desired keys, one step per desired key
#   apply_steps()    - carry the steps out through a LiteLLMClient (write requests only)
#   result_of() / diff_of() - what the module returns; never a secret, only the token (sha256 hex)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

from ansible_collections.llm_gateway.stack.plugins.module_utils._litellm_client import LiteLLMError

SECRET_PREFIX = "sk-"
SECRET_MIN_LENGTH = 32

# Fields compared against LiteLLM's row and sent on /key/update when they drifted. None means "no limit":
# a limit set out of band on a managed key is cleared.
LIMIT_FIELDS = ("max_budget", "budget_duration", "rpm_limit", "tpm_limit", "max_parallel_requests")
COMPARED_FIELDS = ("models", "metadata") + LIMIT_FIELDS

# Suffix given to the alias of a key that is being replaced, for the moment between creating the new key
# (which takes the alias: aliases are unique in LiteLLM) and deleting the old one.
REPLACED_ALIAS_SUFFIX = "--replaced-"


class PlanError(Exception):
    """The desired keys cannot be reached without a decision only the caller can make."""


class ApplyError(Exception):
    """A write failed; ``cause`` is the LiteLLMError, the caller's results list holds what was done before it."""

    def __init__(self, msg, cause=None):
        super(ApplyError, self).__init__(msg)
        self.cause = cause


def token_of(secret):
    """LiteLLM's token for a virtual key: the sha256 hex digest of the plaintext secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def key_name_of(secret):
    """LiteLLM's display name for a key ("sk-...abcd"), as it computes it on /key/generate."""
    return "sk-...%s" % secret[-4:]


def short(token):
    return (token or "")[:12]


def validate_keys(keys):
    """Checks that need no request. Return a list of messages (empty when the keys are usable).

    Messages name the entry by index and alias and never contain a secret.
    """
    errors = []
    seen_alias = {}
    seen_token = {}
    for index, key in enumerate(keys):
        alias = key.get("alias")
        where = "keys[%d] (alias %r)" % (index, alias)
        if not alias or not str(alias).strip():
            errors.append("keys[%d]: alias must be a non-empty string" % index)
            continue
        if alias in seen_alias:
            errors.append("%s: duplicate alias, also given in keys[%d]; each alias may appear once"
                          % (where, seen_alias[alias]))
        else:
            seen_alias[alias] = index
        if key.get("state", "present") != "present":
            continue
        secret = key.get("secret")
        if not secret:
            errors.append("%s: secret is required when state is present (the caller owns the secret, "
                          "e.g. in its vault; this module never invents one)" % where)
            continue
        if not secret.startswith(SECRET_PREFIX) or len(secret) < SECRET_MIN_LENGTH:
            errors.append("%s: secret must start with %r and be at least %d characters long (it has %d characters%s)"
                          % (where, SECRET_PREFIX, SECRET_MIN_LENGTH, len(secret),
                             "" if secret.startswith(SECRET_PREFIX) else " and does not start with %r" % SECRET_PREFIX))
            continue
        token = token_of(secret)
        if token in seen_token:
            errors.append("%s: the same secret is given for alias %r; each key needs its own secret"
                          % (where, seen_token[token]))
        else:
            seen_token[token] = alias
    return errors


def _models(value):
    return sorted(set(value or []))


def row_view(row):
    """The managed part of a LiteLLM key row, as shown in diffs (no secret: the token is a hash)."""
    view = {
        "alias": row.get("key_alias"),
        "token": row.get("token"),
        "key_name": row.get("key_name"),
        "models": _models(row.get("models")),
        "metadata": row.get("metadata") or {},
    }
    for field in LIMIT_FIELDS:
        view[field] = row.get(field)
    return view


def desired_view(key, token):
    view = {
        "alias": key["alias"],
        "token": token,
        "key_name": key_name_of(key["secret"]),
        "models": _models(key.get("models")),
        "metadata": key.get("metadata") or {},
    }
    for field in LIMIT_FIELDS:
        view[field] = key.get(field)
    return view


def _same(field, current, wanted):
    if field in ("max_budget",) and current is not None and wanted is not None:
        return float(current) == float(wanted)
    return current == wanted


def drift(row, key):
    """The fields to send on /key/update so that ``row`` matches ``key`` (empty when nothing drifted).

    models compare as sets (order carries no meaning) and are sent as given; metadata is compared and sent whole.
    """
    current = row_view(row)
    changes = {}
    for field in COMPARED_FIELDS:
        if field == "models":
            if current["models"] != _models(key.get("models")):
                changes["models"] = list(key.get("models") or [])
        elif field == "metadata":
            if current["metadata"] != (key.get("metadata") or {}):
                changes["metadata"] = dict(key.get("metadata") or {})
        elif not _same(field, current[field], key.get(field)):
            changes[field] = key.get(field)
    return changes


def conflict_message(alias, holder):
    return ("alias %r is held in LiteLLM by another key (token %s..., key_name %s) than the secret given for it. "
            "LiteLLM stores only a hash, so it cannot give that key's secret back. Choose one: put the secret that "
            "LiteLLM holds for this alias into the vault and pass it as this key's secret; or set replace: true on "
            "this key to replace LiteLLM's key with the given secret (the old secret stops working, the alias is "
            "kept); or delete that key (state: absent) and run again."
            % (alias, short(holder.get("token")), holder.get("key_name")))


def plan_keys(rows, keys):
    """One step per desired key, from LiteLLM's current rows. Raise PlanError listing every conflict.

    A step is a dict: alias, state, action (created|updated|replaced|unchanged|deleted|absent), token, key_name,
    before/after (views or None), changes (for updated), old (the row to remove for replaced), key (the desired
    entry, which holds the secret: never returned).
    """
    by_token = dict((row.get("token"), row) for row in rows if row.get("token"))
    by_alias = dict((row.get("key_alias"), row) for row in rows if row.get("key_alias"))
    steps = []
    conflicts = []
    for key in keys:
        alias = key["alias"]
        if key.get("state", "present") == "absent":
            row = by_alias.get(alias)
            steps.append({
                "alias": alias, "state": "absent", "action": "deleted" if row else "absent",
                "token": row.get("token") if row else None, "key_name": row.get("key_name") if row else None,
                "before": row_view(row) if row else None, "after": None, "changes": {}, "old": None, "key": key,
            })
            continue
        token = token_of(key["secret"])
        row = by_token.get(token)
        holder = by_alias.get(alias)
        if holder is not None and holder.get("token") == token:
            holder = None
        step = {"alias": alias, "state": "present", "token": token, "key_name": key_name_of(key["secret"]),
                "after": desired_view(key, token), "changes": {}, "old": None, "key": key}
        if row is not None:
            step["before"] = row_view(row)
            step["key_name"] = row.get("key_name") or step["key_name"]
            step["changes"] = drift(row, key)
            if row.get("key_alias") != alias:
                step["changes"]["key_alias"] = alias
            step["action"] = "updated" if step["changes"] else "unchanged"
            if holder is not None:
                # The secret's key exists under another alias and the wanted alias belongs to a third key.
                if not key.get("replace"):
                    conflicts.append(conflict_message(alias, holder))
                    continue
                step["action"] = "replaced"
                step["old"] = holder
                step["takeover"] = True
        elif holder is None:
            step["before"] = None
            step["action"] = "created"
        elif key.get("replace"):
            step["before"] = row_view(holder)
            step["action"] = "replaced"
            step["old"] = holder
        else:
            conflicts.append(conflict_message(alias, holder))
            continue
        steps.append(step)
    if conflicts:
        raise PlanError("; ".join(conflicts))
    return steps


def generate_body(key):
    """The /key/generate body for a desired key (contains the secret: send it, never return it)."""
    body = {"key": key["secret"], "key_alias": key["alias"], "models": list(key.get("models") or []),
            "metadata": dict(key.get("metadata") or {})}
    for field in LIMIT_FIELDS + ("duration",):
        if key.get(field) is not None:
            body[field] = key[field]
    return body


def result_of(step):
    """The per-key entry of the module's ``keys`` return value."""
    changed = step["action"] in ("created", "updated", "replaced", "deleted")
    return {"alias": step["alias"], "state": step["state"], "action": step["action"], "changed": changed,
            "token": step["token"], "key_name": step["key_name"]}


def diff_of(steps):
    """Ansible diff: before/after maps alias -> view, for the keys this task manages (no secrets)."""
    before = {}
    after = {}
    for step in steps:
        if step.get("before") is not None:
            before[step["alias"]] = step["before"]
        if step.get("after") is not None:
            after[step["alias"]] = step["after"]
    return {"before": before, "after": after}


def _replace(client, step):
    """Create the step's key in place of step['old'], keeping the alias (aliases are unique in LiteLLM)."""
    old = step["old"]
    alias = step["alias"]
    old_token = old["token"]
    if step.get("takeover"):
        # The secret's key exists under another alias: remove the alias holder, then move ours onto the alias.
        client.delete_keys(tokens=[old_token])
        client.update_key(dict(step["changes"], key=step["token"]))
        return
    aside = "%s%s%s" % (alias, REPLACED_ALIAS_SUFFIX, short(old_token))
    client.update_key({"key": old_token, "key_alias": aside})
    try:
        created = client.generate_key(generate_body(step["key"]))
    except LiteLLMError:
        try:  # give the old key its alias back, so the next run finds things as they were
            client.update_key({"key": old_token, "key_alias": alias})
        except LiteLLMError:
            pass
        raise
    step["key_name"] = created.get("key_name") or step["key_name"]
    try:
        client.delete_keys(tokens=[old_token])
    except LiteLLMError as e:
        raise ApplyError("the new key for alias %r was created, but the old key (token %s..., now aliased %r) could "
                         "not be deleted: %s. It still authenticates: remove it with state: absent for alias %r."
                         % (alias, short(old_token), aside, e, aside), cause=e)


def _apply_step(client, step):
    action = step["action"]
    if action == "created":
        created = client.generate_key(generate_body(step["key"]))
        if created.get("token") and created["token"] != step["token"]:
            raise ApplyError("LiteLLM created the key for alias %r under token %s..., not the sha256 of the given "
                             "secret (%s...)" % (step["alias"], short(created["token"]), short(step["token"])))
        step["key_name"] = created.get("key_name") or step["key_name"]
    elif action == "updated":
        client.update_key(dict(step["changes"], key=step["token"]))
    elif action == "replaced":
        _replace(client, step)
    elif action == "deleted":
        if not client.delete_keys(aliases=[step["alias"]]):
            step["action"] = "absent"


def apply_steps(client, steps, results):
    """Send the write requests the steps need, appending each finished step's result to ``results``.

    The first failing write raises ApplyError naming the key; ``results`` then holds every step finished before it,
    and a replace whose new key was created (so the caller records the new secret) even when deleting the old key
    failed.
    """
    for step in steps:
        try:
            _apply_step(client, step)
        except ApplyError as e:
            if step["action"] == "replaced" and e.cause is not None:
                results.append(result_of(step))
            raise
        except LiteLLMError as e:
            raise ApplyError("key %r (%s) failed: %s" % (step["alias"], step["action"], e), cause=e)
        results.append(result_of(step))
    return results
