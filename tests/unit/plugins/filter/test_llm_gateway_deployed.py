"""plugins/filter/llm_gateway_deployed.py: what a site.yml re-run may skip, from one docker_host_info answer."""

import pytest

from ansible_collections.llm_gateway.stack.plugins.filter import llm_gateway_deployed as deployed

INPUTS = "a" * 64


def _host(state="running", image_id="sha256:new", inputs=INPUTS, tag="postgres:16"):
    return {
        "containers": [{"Names": ["/db"], "State": state, "ImageID": "sha256:new",
                        "Labels": {"llm-gateway.inputs": inputs, "llm-gateway.settings": "s1"}}],
        "images": [{"Id": image_id, "RepoTags": [tag], "Labels": {"llm-gateway.context": "c1"}}],
        "volumes": [{"Name": "db_data"}],
        "networks": [{"Name": "reasoning-network"}],
    }


def test_a_running_container_from_the_current_image_with_the_same_inputs_is_unchanged():
    assert deployed.container_unchanged(_host(), "db", "docker.io/library/postgres:16", INPUTS)


@pytest.mark.parametrize("host, name, image, inputs", [
    (_host(), "db", "docker.io/library/postgres:16", "b" * 64),             # other inputs
    (_host(image_id="sha256:rebuilt"), "db", "postgres:16", INPUTS),          # the tag now names another image
    (_host(state="exited"), "db", "postgres:16", INPUTS),                     # not running
    (_host(), "other", "postgres:16", INPUTS),                                # no such container
    (_host(), "db", "postgres:15", INPUTS),                                   # another image reference
    ({}, "db", "postgres:16", INPUTS),                                        # nothing read (run alone)
])
def test_anything_else_is_changed(host, name, image, inputs):
    assert not deployed.container_unchanged(host, name, image, inputs)


@pytest.mark.parametrize("reference, tag", [
    ("docker.io/library/postgres:16", "postgres:16"),
    ("docker.io/arizephoenix/phoenix:version-20.26.1", "arizephoenix/phoenix:version-20.26.1"),
    ("ghcr.io/berriai/litellm:v1.108.7", "ghcr.io/berriai/litellm:v1.108.7"),
    ("llm-gateway/reasoning-api", "llm-gateway/reasoning-api:latest"),
    ("localhost:5000/app", "localhost:5000/app:latest"),
])
def test_image_references_match_docker_repo_tags(reference, tag):
    assert deployed.deployed_image({"images": [{"Id": "x", "RepoTags": [tag]}]}, reference) == {"Id": "x", "RepoTags": [tag]}


def test_labels_of_running_containers_and_names_of_volumes_and_networks():
    assert deployed.container_label(_host(), "db", "llm-gateway.settings") == "s1"
    assert deployed.container_label(_host(state="exited"), "db", "llm-gateway.settings") == ""
    assert deployed.container_label(_host(), "db", "missing") == ""
    assert deployed.deployed_names(_host(), "volumes") == ["db_data"]
    assert deployed.deployed_names(_host(), "networks") == ["reasoning-network"]
    assert deployed.deployed_names(None, "volumes") == []


def _replicas():
    return {"containers": [
        {"Names": ["/litellm-proxy"], "Image": "litellm:1", "Labels": {"llm-gateway.litellm-replica-of": "litellm-proxy"}},
        {"Names": ["/litellm-proxy-3"], "Image": "litellm:0", "Labels": {"llm-gateway.litellm-replica-of": "litellm-proxy"}},
        {"Names": ["/phoenix"], "Image": "phoenix:20", "Labels": {}},
    ]}


def test_the_containers_of_some_names_that_exist_in_the_order_of_the_names():
    found = deployed.deployed_containers(_replicas(), ["litellm-proxy-3", "litellm-proxy-2", "litellm-proxy"])
    assert [c["Image"] for c in found] == ["litellm:0", "litellm:1"]
    assert deployed.deployed_containers(None, ["litellm-proxy"]) == []


def test_the_names_of_the_containers_with_a_label_value():
    assert deployed.labelled_names(_replicas(), "llm-gateway.litellm-replica-of", "litellm-proxy") == [
        "litellm-proxy", "litellm-proxy-3"]
    assert deployed.labelled_names(_replicas(), "llm-gateway.litellm-replica-of", "other") == []
    assert deployed.labelled_names({}, "llm-gateway.litellm-replica-of", "litellm-proxy") == []
