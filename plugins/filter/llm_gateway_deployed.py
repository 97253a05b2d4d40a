# Copyright: llm-gateway-ansible contributors
# Apache License 2.0 (see LICENSE or https://www.apache.org/licenses/LICENSE-2.0)
"""What a site.yml run may skip: decisions over one Docker query per host (playbooks/deployed.yml).

``deployed`` is that query's result (community.docker.docker_host_info with verbose containers, images, volumes and
networks). A container is unchanged when it runs, from the image its reference names now, carrying the digest of the
inputs it was created from: then nothing about it needs a Docker call.
"""

from __future__ import annotations

INPUTS_LABEL = "llm-gateway.inputs"


def _repo_tag(image):
    """How Docker lists an image reference among RepoTags: no docker.io/ or library/ prefix, ':latest' by default."""
    ref = image
    for prefix in ("docker.io/", "library/"):
        if ref.startswith(prefix):
            ref = ref[len(prefix):]
    return ref if ":" in ref.rsplit("/", 1)[-1] else ref + ":latest"


def deployed_image(deployed, image):
    """The image a reference names now ({} when there is none): its Id and Labels."""
    tag = _repo_tag(image)
    for found in (deployed or {}).get("images") or []:
        if tag in (found.get("RepoTags") or []):
            return found
    return {}


def deployed_container(deployed, name):
    """The container of that name ({} when there is none), as Docker lists it."""
    for found in (deployed or {}).get("containers") or []:
        if "/" + name in (found.get("Names") or []):
            return found
    return {}


def deployed_containers(deployed, names):
    """The containers of those names that exist, in that order, as Docker lists them."""
    found = (deployed_container(deployed, name) for name in names or [])
    return [container for container in found if container]


def labelled_names(deployed, label, value):
    """The names of the containers carrying the label with that value."""
    return [(container.get("Names") or ["/"])[0].lstrip("/")
            for container in (deployed or {}).get("containers") or []
            if (container.get("Labels") or {}).get(label) == value]


def container_unchanged(deployed, name, image, inputs):
    """True when the container runs, from the image its reference names now, created from these inputs (a digest)."""
    container = deployed_container(deployed, name)
    current = deployed_image(deployed, image)
    return bool(container and current
                and container.get("State") == "running"
                and container.get("ImageID") == current.get("Id")
                and (container.get("Labels") or {}).get(INPUTS_LABEL) == inputs)


def container_label(deployed, name, label):
    """A label of a running container ('' when it does not run or lacks the label)."""
    container = deployed_container(deployed, name)
    if container.get("State") != "running":
        return ""
    return (container.get("Labels") or {}).get(label, "")


def deployed_names(deployed, kind):
    """The names of the volumes or networks the query found."""
    return [item.get("Name") for item in (deployed or {}).get(kind) or []]


class FilterModule:
    def filters(self):
        return {
            "deployed_image": deployed_image,
            "deployed_container": deployed_container,
            "deployed_containers": deployed_containers,
            "labelled_names": labelled_names,
            "container_unchanged": container_unchanged,
            "container_label": container_label,
            "deployed_names": deployed_names,
        }
