"""Release data for the site-level checks (SUP001, FEN008) and the fence delay (FEN009) as rendered."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kickbake.model.catalog import load_releases, load_repos
from kickbake.model.types import FENCE_AGENT
from tests.bundles import render

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "lint" / "cases"


@pytest.mark.parametrize("name", sorted(load_releases()))
def test_supply_names_repos_of_the_release(name: str) -> None:
    release, repos = load_releases()[name], load_repos()
    for feature, supplies in release.supply.items():
        assert feature in release.packages, f"{name}: supply for unknown feature {feature}"
        for supply in supplies:
            assert supply.repos and all(r in repos for r in supply.repos), (name, supply)


@pytest.mark.parametrize("name", sorted(load_releases()))
def test_fence_agents_are_agent_names(name: str) -> None:
    agents = load_releases()[name].fence_agents
    assert "fence_ipmilan" in agents and "fence_manual" not in agents
    assert list(agents) == sorted(set(agents))
    for agent in agents:
        FENCE_AGENT.check(agent)


def test_a_fence_delay_is_rendered_for_both_stacks(tmp_path: Path) -> None:
    current = render(CASES / "base-current-pass.yml", tmp_path / "a") / "nodes/drbd-node1/etc/kickbake/cib.xml"
    nvpairs = {n.get("name"): n.get("value") for n in ET.parse(current).iter("nvpair")
               if (n.get("id") or "").startswith("fence-drbd-node1-")}
    assert nvpairs["pcmk_delay_base"] == "15s"
    legacy = render(CASES / "base-legacy-pass.yml", tmp_path / "b") / "nodes/drbd-node1/etc/cluster/cluster.conf"
    delays = {d.get("name"): d.get("delay") for d in ET.parse(legacy).iter("fencedevice")}
    assert delays == {"fence_ipmilan-drbd-node1": "15", "fence_ipmilan-drbd-node2": None}
