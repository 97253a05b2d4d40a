"""Every test stack labels what it creates llm-gateway.test=<scenario>: .ci/run removes only what carries that label,
so a stack without it would be left behind (and one with only llm-gateway.stack is never touched)."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def stack_labels(scenario: str) -> dict:
    labels = {}
    for path in sorted((ROOT / "molecule" / scenario / "inventory" / "group_vars" / "llm_gateway").glob("*.yml")):
        labels = (yaml.safe_load(path.read_text()) or {}).get("llm_gateway_labels", labels)
    return labels


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_labels_its_stack_as_a_test(scenario):
    assert stack_labels(scenario).get("llm-gateway.test"), scenario


def test_ci_removes_only_test_labelled_resources():
    lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "label=llm-gateway.test" in lines
    selections = [line for line in lines if line.startswith("stale=")]
    assert len(selections) == 3 and all('--filter "label=$label"' in line for line in selections), selections
    assert not any("llm-gateway.stack" in line for line in lines if line.startswith(("stale=", "for ")))
