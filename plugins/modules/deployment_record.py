#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: deployment_record
short_description: Tell whether a Docker host is exactly as the last complete deploy left it
description:
  - Keeps, on the Docker host, a record of the last complete deploy of a stack, and compares the host with it, so that
    a run whose inputs did not change can skip every step.
  - >-
    The record holds two digests. The inputs digest is computed by the caller (site.yml uses the
    P(llm_gateway.stack.deploy_inputs#lookup) lookup). The state digest is computed here, from the stack's containers (those
    labelled O(label)): each one's name, ID and image ID; whether the image reference it was created from still
    names that image; the content, mode and owner of its read-only bind-mounted files (its configuration); the rules
    of the O(firewall_chains) and their jumps from C(DOCKER-USER); and the engine's CPU count.
  - >-
    O(state=record) records nothing (and removes an older record) when the host cannot be vouched for: a container
    that could not be inspected, or an image reference that no longer names the image its container runs.
    RV(reasons) then says why.
  - >-
    With O(state=check), RV(unchanged) is true only when the record exists, its inputs digest equals O(inputs), the
    state digest equals the recorded one, at least one container is labelled, and every one is running without a
    failing health check, nor a starting one unless it started before the record was made (Docker's health status
    lags the service by up to one check interval; that deploy saw it ready). Otherwise RV(reasons) says what
    differs.
  - O(state=record) writes the record (mode C(0600)); O(state=forget) removes it, so that a run that fails after
    changing something is never taken for an unchanged one.
  - The record holds digests only, never a setting or a secret.
  - A host without the docker command or a running engine (one the run has yet to prepare) counts as changed.
version_added: "2.1.0"
author:
  - llm-gateway-ansible contributors !UNKNOWN
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
requirements:
  - the docker command line client on the host
attributes:
  check_mode:
    support: full
    details:
      - O(state=check) only reads; O(state=record) and O(state=forget) report the change they would make.
  diff_mode:
    support: none
  platform:
    support: full
    platforms: posix
options:
  path:
    description: The record's file on the host. Its folder is created (mode C(0700)) when missing.
    type: path
    required: true
  label:
    description: The stack's label as C(key=value); every container carrying it counts.
    type: str
    required: true
  inputs:
    description: The inputs digest of this run. Required unless O(state=forget).
    type: str
  firewall_chains:
    description: iptables chains whose rules count (a missing chain counts as missing).
    type: list
    elements: str
    default: []
  state:
    description: Compare with the record, write it, or remove it.
    type: str
    choices: [check, record, forget]
    default: check
"""

EXAMPLES = r"""
- name: Compare the host with its last complete deploy
  llm_gateway.stack.deployment_record:
    path: /var/lib/llm-gateway/llm-gateway.json
    label: llm-gateway.stack=llm-gateway
    inputs: "{{ lookup('llm_gateway.stack.deploy_inputs', playbook_dir).digest }}"
  register: record

- name: Write the record after a complete deploy
  llm_gateway.stack.deployment_record:
    path: /var/lib/llm-gateway/llm-gateway.json
    label: llm-gateway.stack=llm-gateway
    inputs: "{{ inputs_digest }}"
    state: record
"""

RETURN = r"""
unchanged:
  description: With O(state=check), whether the host is exactly as recorded; false for the other states.
  returned: always
  type: bool
reasons:
  description: What differs from the record, one line each (empty when RV(unchanged)).
  returned: always
  type: list
  elements: str
  sample: ["the inputs changed since the last complete deploy", "llm-litellm-proxy is exited"]
containers:
  description: How many containers carry the label.
  returned: always
  type: int
docker_containers:
  description:
    - The labelled containers as M(community.docker.docker_host_info) lists them, with the fields C(Names),
      C(State), C(Status) (its health in parentheses) and C(Image), so that a summary needs no other look.
  returned: when O(state=check) or O(state=record)
  type: list
  elements: dict
  sample: [{"Names": ["/phoenix"], "State": "running", "Status": "Running (healthy)", "Image": "phoenix:20.26.1"}]
recorded:
  description: When the record compared with (or written) was made, UTC, ISO 8601; empty when there is none.
  returned: always
  type: str
"""

import datetime
import hashlib
import json
import os
import stat

from ansible.module_utils.basic import AnsibleModule

# Bind-mounted folders larger than this are compared by their files' sizes and modification times only.
CONTENT_LIMIT = 1024 * 1024


def _file_entry(path):
    info = os.lstat(path)
    entry = [path, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid]
    if stat.S_ISREG(info.st_mode):
        if info.st_size <= CONTENT_LIMIT:
            with open(path, "rb") as handle:
                entry.append(hashlib.sha256(handle.read()).hexdigest())
        else:
            entry += [info.st_size, info.st_mtime_ns]
    elif stat.S_ISLNK(info.st_mode):
        entry.append(os.readlink(path))
    return entry


def _bind_entries(source):
    if not os.path.exists(source):
        return [[source, "missing"]]
    if not os.path.isdir(source):
        return [_file_entry(source)]
    entries = [_file_entry(source)]
    for folder, subfolders, names in os.walk(source):
        subfolders.sort()
        entries += [_file_entry(os.path.join(folder, name)) for name in sorted(names)]
    return entries


def host_state(module, label, chains):
    """(state digest, containers as name → {status, health}, problems) of the host now. A host without a Docker
    engine yet (the run installs it) has a problem, no digest."""
    docker = module.get_bin_path("docker")
    if docker is None:
        return None, {}, ["Docker is not installed on this host yet"]
    rc, out, err = module.run_command([docker, "ps", "-aq", "--no-trunc", "--filter", "label=" + label])
    if rc != 0:
        return None, {}, ["Docker does not answer: %s" % (err.strip() or out.strip())]
    ids = out.split()
    containers, images, problems, facts = {}, [], [], {}
    if ids:
        rc, out, err = module.run_command([docker, "inspect"] + ids)
        if rc != 0:  # a container removed meanwhile
            problems.append("the containers could not be inspected: %s" % err.strip())
        inspected = json.loads(out) if rc == 0 else []
        for item in inspected:
            name = item["Name"].lstrip("/")
            health = (item["State"].get("Health") or {}).get("Status", "none")
            containers[name] = {"status": item["State"]["Status"], "health": health, "image": item["Config"]["Image"],
                                "started": item["State"].get("StartedAt", "")[:19]}
            binds = sorted(mount["Source"] for mount in item.get("Mounts", [])
                           if mount.get("Type") == "bind" and not mount.get("RW", True))
            facts[name] = {"id": item["Id"], "image": item["Image"], "reference": item["Config"]["Image"],
                           "binds": [entry for source in binds for entry in _bind_entries(source)]}
            images.append(item["Config"]["Image"])
    if images:
        references = sorted(set(images))
        # One image ID per line, in the order given; a reference that names no image fails the command.
        rc, out, err = module.run_command([docker, "image", "inspect", "--format", "{{.Id}}"] + references)
        if rc != 0:
            problems.append("an image reference of the stack no longer names an image: %s" % err.strip())
        else:
            now = dict(zip(references, out.split()))
            problems += ["%s runs another image than %s names now" % (name, fact["reference"])
                         for name, fact in sorted(facts.items()) if now.get(fact["reference"]) != fact["image"]]
    iptables, firewall = module.get_bin_path("iptables"), {}
    for chain in chains + ["DOCKER-USER"] if iptables else []:
        rc, out, err = module.run_command([iptables, "-w", "-S", chain])
        firewall[chain] = out.splitlines() if rc == 0 else "missing"
    # Of DOCKER-USER, only the jumps to the chains: other stacks on the engine add theirs.
    jumps = firewall.get("DOCKER-USER") or []
    firewall["DOCKER-USER"] = sorted(line for line in jumps if line.rsplit(" ", 1)[-1] in chains)
    rc, out, err = module.run_command([docker, "info", "--format", "{{.NCPU}}"])
    cpus = out.strip() if rc == 0 else "unknown"
    document = json.dumps({"containers": facts, "firewall": firewall, "cpus": cpus}, sort_keys=True)
    return hashlib.sha256(document.encode()).hexdigest(), containers, problems


def compare(record, inputs, digest, containers, problems):
    """Why the host is not exactly as recorded (nothing: it is)."""
    if record is None:
        return ["no complete deploy is recorded on this host"]
    reasons = []
    if record.get("inputs") != inputs:
        reasons.append("the inputs changed since the last complete deploy (playbooks, roles, inventory, vault, "
                       "extra variables or the app's sources)")
    if not containers:
        reasons.append("no container of the stack exists")
    for name, state in sorted(containers.items()):
        # Docker's health status lags the service by up to one check interval: "starting" is fine for a container
        # that started before the record, whose deploy saw it ready.
        started_before = state["started"] and state["started"] <= record.get("recorded", "")[:19]
        if state["status"] != "running":
            reasons.append("%s is %s" % (name, state["status"]))
        elif state["health"] not in ("healthy", "none") and not (state["health"] == "starting" and started_before):
            reasons.append("%s is %s" % (name, state["health"]))
    reasons += problems
    if record.get("state") != digest and not problems:
        reasons.append("the containers, their configuration files or the firewall changed since the last "
                       "complete deploy")
    return reasons


def listing(containers):
    """The containers as community.docker.docker_host_info lists them (the fields the summary reads)."""
    return [{"Names": ["/" + name], "State": state["status"], "Image": state["image"],
             "Status": state["status"].capitalize() + ("" if state["health"] == "none" else " (%s)" % state["health"])}
            for name, state in sorted(containers.items())]


def read_record(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def forget(module, path):
    """Removes the record (not in check mode); whether there was one."""
    if not os.path.exists(path):
        return False
    if not module.check_mode:
        os.remove(path)
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            label=dict(type="str", required=True),
            inputs=dict(type="str"),
            firewall_chains=dict(type="list", elements="str", default=[]),
            state=dict(type="str", choices=["check", "record", "forget"], default="check"),
        ),
        required_if=[("state", "check", ["inputs"]), ("state", "record", ["inputs"])],
        supports_check_mode=True,
    )
    path, state = module.params["path"], module.params["state"]
    record = read_record(path)
    if state == "forget":
        module.exit_json(changed=forget(module, path), unchanged=False, reasons=[], containers=0, recorded="")

    digest, containers, problems = host_state(module, module.params["label"], module.params["firewall_chains"])
    seen = dict(containers=len(containers), docker_containers=listing(containers))
    if state == "check":
        reasons = compare(record, module.params["inputs"], digest, containers, problems)
        module.exit_json(changed=False, unchanged=not reasons, reasons=reasons,
                         recorded=(record or {}).get("recorded", ""), **seen)

    if problems:  # nothing to vouch for: no record, and the next run runs every step
        forget(module, path)
        module.exit_json(changed=False, unchanged=False, reasons=problems, recorded="", **seen)
    new = {"inputs": module.params["inputs"], "state": digest}
    if record is not None and {k: record.get(k) for k in new} == new:
        module.exit_json(changed=False, unchanged=False, reasons=[], recorded=record.get("recorded", ""), **seen)
    new["recorded"] = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not module.check_mode:
        folder = os.path.dirname(path)
        if not os.path.isdir(folder):
            os.makedirs(folder, 0o700)
        temporary = path + ".tmp"
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump(new, handle, sort_keys=True)
        os.replace(temporary, path)
    module.exit_json(changed=True, unchanged=False, reasons=[], recorded=new["recorded"], **seen)


if __name__ == "__main__":
    main()
