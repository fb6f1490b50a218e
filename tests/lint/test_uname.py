"""ID1: a node's `uname -n` is its DRBD `on` name (drbd.conf(5), "on host-name") and its cluster node name.

drbdadm 8.4 picks its `on` section by the exact uname -n: on a node named drbd-node1.lab.example,
`on drbd-node1` gives "'r0' not defined in your config (for this host)" (drbd-utils 9.22 with
DRBD_DRIVER_VERSION_OVERRIDE=8.4.11; the DRBD 9 code path tolerates the FQDN, 8.3 and 8.4 do not).
So the kickstart sets the short inventory host name; the FQDN lives in /etc/hosts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kickbake.model import load_site, plan
from kickbake.render.kickstart import render_kickstart

ROOT = Path(__file__).resolve().parents[2]
KICKSTART_SITES = [ROOT / "sites" / f"{name}.yml" for name in ("lab-legacy", "lab-el9")]


@pytest.mark.parametrize("site", KICKSTART_SITES, ids=lambda p: p.stem)
def test_kickstart_host_name_is_the_drbd_and_cluster_name(site: Path) -> None:
    site_plan = plan(load_site(site))
    checked = 0
    for node in site_plan.nodes:
        text = render_kickstart(site_plan, node, "digest")
        names = re.findall(r"--hostname=(\S+)", text)
        assert names == [node.hostname], node.hostname
        checked += bool(site_plan.drbd_of(node.hostname))
    assert checked == 2
    assert any(line.endswith(" drbd-node1.lab.example drbd-node1") for line in site_plan.hosts_entries)
