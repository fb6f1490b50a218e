"""Every rendered file of every bundled site passes the real tool that reads it; and each
checker really fails on a broken file (so a pass means something)."""

from __future__ import annotations

import json
import os
import shutil
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from kickbake.model import load_site, plan
from kickbake.model.clusterview import BY_RES_NAME, cluster_views
from kickbake.validate.agents import check_agents, primitives
from kickbake.validate.cib import check_cib
from kickbake.validate.clusterconf import check_cluster_conf
from kickbake.validate.corosync import check_corosync
from kickbake.validate.drbd import check_drbd, udev_by_res
from kickbake.validate.lvmconf import check_lvm_current, check_lvm_legacy
from kickbake.validate.novaconf import check_nova_conf
from kickbake.validate.pcs import compare_with_pcs
from kickbake.validate.tools import check_site_output
from tests.bundles import render
from tests.conftest import BUNDLED, SITES, require_tool

pytestmark = pytest.mark.realtool
TOOLS = ("drbdadm", "corosync", "crm_verify", "lvmconfig", "unshare", "ip")


def require_netns() -> None:
    require_tool("unshare")
    require_tool("ip")
    if os.geteuid() != 0:
        pytest.skip("network namespaces for drbdadm/corosync need root")


def copy_node(out: Path, node: str, tmp_path: Path) -> Path:
    etc = tmp_path / node / "etc"
    shutil.copytree(out / "nodes" / node / "etc", etc)
    return etc


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize("site", BUNDLED, ids=lambda p: p.stem)
def test_every_file_of_every_bundled_site_passes_its_tool(site: Path, out_root: Path) -> None:
    for tool in TOOLS:
        require_tool(tool)
    require_netns()
    out = render(site, out_root, seeded=False)
    checks = check_site_output(plan(load_site(site)), out)
    assert checks
    assert [c for c in checks if c.status != "ok"] == []
    tools = {c.tool.split()[0] for c in checks}
    expected = {"drbdadm", "nova.conf", "pykickstart"} - ({"pykickstart"} if site.stem == "lab-debian" else set())
    expected |= {"cluster.conf", "lvm2"} if site.stem == "lab-legacy" else {"corosync", "crm_verify", "lvmconfig"}
    assert expected <= tools


@pytest.mark.parametrize(
    ("site", "dialect", "old", "new"),
    [
        (
            "lab-legacy",
            "8.3",
            "allow-two-primaries;",
            "allow-two-primaries yes;",
        ),  # 8.4 syntax: drbdadm-83 says no
        # drbdadm-84 dump checks keywords, not values (`fencing resource-and-stonit` passes)
        ("lab-debian", "8.4", "resync-rate 33M;", "resync-rat 33M;"),
        ("lab-el9", "9", "node-id 1;", "node-id 0;"),  # duplicate node-id
    ],
)
def test_drbdadm_rejects_a_broken_resource(
    site: str, dialect: str, old: str, new: str, out_root: Path, tmp_path: Path
) -> None:
    require_tool("drbdadm")
    require_netns()
    etc = copy_node(render(SITES / f"{site}.yml", out_root), "drbd-node1", tmp_path)
    address = IPv4Address("10.0.0.1")
    assert check_drbd(etc, "drbd-node1", address, dialect)[0]
    edit(etc / "drbd.d/r0.res", old, new)
    ok, said = check_drbd(etc, "drbd-node1", address, dialect)
    assert not ok and "r0.res" in said


def test_drbdadm_needs_the_nodes_own_address(out_root: Path, tmp_path: Path) -> None:
    require_tool("drbdadm")
    require_netns()
    etc = copy_node(render(SITES / "lab-debian.yml", out_root), "drbd-node1", tmp_path)
    ok, said = check_drbd(etc, "drbd-node1", IPv4Address("10.9.9.9"), "8.4")
    assert not ok and "10.0.0.1 not found" in said


def test_corosync_rejects_a_syntax_error_and_a_foreign_address(out_root: Path, tmp_path: Path) -> None:
    require_tool("corosync")
    require_netns()
    etc = copy_node(render(SITES / "lab-debian.yml", out_root), "drbd-node2", tmp_path)
    assert check_corosync(etc / "corosync", "drbd-node2", IPv4Address("10.0.0.2"))[0]
    # corosync finds the local node by ring0_addr on an interface, else by host name = nodelist name
    assert check_corosync(etc / "corosync", "drbd-node2", IPv4Address("10.9.9.9"))[0]
    assert not check_corosync(etc / "corosync", "not-a-member", IPv4Address("10.9.9.9"))[0]
    edit(etc / "corosync/corosync.conf", "two_node: 1", "two_node: 1\n    broken {")
    ok, said = check_corosync(etc / "corosync", "drbd-node2", IPv4Address("10.0.0.2"))
    assert not ok and "Missing closing brace" in said


def test_corosync_needs_the_authkey_when_crypto_is_on(out_root: Path, tmp_path: Path) -> None:
    require_tool("corosync")
    require_netns()
    etc = copy_node(render(SITES / "lab-el9.yml", out_root), "drbd-node1", tmp_path)
    (etc / "corosync/authkey").unlink()
    assert not check_corosync(etc / "corosync", "drbd-node1", IPv4Address("10.0.0.1"))[0]


def test_crm_verify_rejects_a_dangling_constraint(out_root: Path, tmp_path: Path) -> None:
    require_tool("crm_verify")
    etc = copy_node(render(SITES / "lab-el9.yml", out_root), "drbd-node1", tmp_path)
    assert check_cib(etc / "kickbake/cib.xml")[0]
    edit(etc / "kickbake/cib.xml", 'then="vg_shared-clone"', 'then="no-such-clone"')
    ok, said = check_cib(etc / "kickbake/cib.xml")
    assert not ok and "no-such-clone" in said


def test_lvmconfig_rejects_unknown_settings_and_legacy_locking(out_root: Path, tmp_path: Path) -> None:
    require_tool("lvmconfig")
    etc = copy_node(render(SITES / "lab-debian.yml", out_root), "drbd-node1", tmp_path)
    lvm = etc / "lvm/lvm.conf"
    assert check_lvm_current(lvm)[0]
    edit(lvm, "use_lvmlockd = 1", "use_lvmlockd = 1\n    locking_type = 3")
    ok, said = check_lvm_current(lvm)
    assert not ok and "locking_type (3) is deprecated" in said
    edit(lvm, "locking_type = 3", "use_lvmlockdd = 1")
    assert not check_lvm_current(lvm)[0]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("locking_type = 3", "locking_type = 1", "locking_type must be 3"),
        ("use_lvmetad = 0", "use_lvmetad = 1", "lvmetad is incompatible"),
        (
            "write_cache_state = 0",
            "write_cache_stat = 0",
            "unknown setting devices/write_cache_stat",
        ),
        ('"r|.*|" ]', '"x|.*|" ]', "is not `a|regex|`"),
        ("global {", "global", "expected `section {`"),
    ],
)
def test_legacy_lvm_parser_rejects(old: str, new: str, message: str, out_root: Path, tmp_path: Path) -> None:
    etc = copy_node(render(SITES / "lab-legacy.yml", out_root), "drbd-node1", tmp_path)
    lvm = etc / "lvm/lvm.conf"
    assert check_lvm_legacy(lvm, host_lvmconfig=False)[0]
    edit(lvm, old, new)
    ok, said = check_lvm_legacy(lvm, host_lvmconfig=False)
    assert not ok and message in said


def test_legacy_lvm_host_lvm2_ignores_locking_type_3(out_root: Path, tmp_path: Path) -> None:
    require_tool("lvmconfig")
    etc = copy_node(render(SITES / "lab-legacy.yml", out_root), "drbd-node1", tmp_path)
    ok, said = check_lvm_legacy(etc / "lvm/lvm.conf", host_lvmconfig=True)
    assert ok and "lvmconfig warns 'locking_type (3) is deprecated'" in said


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('expected_votes="1"', 'expected_votes="2"', "needs expected_votes"),
        ('nodeid="2"', 'nodeid="1"', "not unique"),
        ("<fence_daemon", "<fence_deamon", "unknown element <fence_deamon>"),
        ('name="drbdclu"', 'name="a-cluster-name-too-long"', "1..16 characters"),
        ("</cluster>", "", "not XML"),
    ],
)
def test_cluster_conf_checker_rejects(old: str, new: str, message: str, out_root: Path, tmp_path: Path) -> None:
    etc = copy_node(render(SITES / "lab-legacy.yml", out_root), "drbd-node2", tmp_path)
    conf = etc / "cluster/cluster.conf"
    assert check_cluster_conf(conf)[0]
    edit(conf, old, new)
    ok, said = check_cluster_conf(conf)
    assert not ok and message in said


FENCE_DEVICES = """      mode: device
      devices:
        - {node: drbd-node1, agent: fence_ipmilan, params: {ip: 192.168.122.201, username: admin}, delay: 15}
        - {node: drbd-node2, agent: fence_ipmilan, params: {ip: 192.168.122.202, username: admin}}
"""


def with_fence_devices(site: str, tmp_path: Path) -> Path:
    text = (SITES / f"{site}.yml").read_text()
    manual = next(line for line in text.splitlines() if line.strip().startswith("mode: manual"))
    path = tmp_path / f"{site}.yml"
    path.write_text(text.replace(manual + "\n", FENCE_DEVICES))
    return path


@pytest.mark.parametrize("site", ["lab-legacy", "lab-el9", "lab-debian"])
def test_fence_devices_render_and_pass_the_tools(site: str, out_root: Path, tmp_path: Path) -> None:
    for tool in TOOLS:
        require_tool(tool)
    require_netns()
    path = with_fence_devices(site, tmp_path)
    out = render(path, out_root)
    checks = check_site_output(plan(load_site(path)), out)
    assert [c for c in checks if c.status != "ok"] == []
    etc = out / "nodes/drbd-node1/etc"
    if site == "lab-legacy":
        conf = (etc / "cluster/cluster.conf").read_text()
        assert '<device name="fence_ipmilan-drbd-node1"/>' in conf and 'ip="192.168.122.201"' in conf
        return
    cib = (etc / "kickbake/cib.xml").read_text()
    assert 'name="stonith-enabled" value="true"' in cib and 'class="stonith" type="fence_ipmilan"' in cib
    assert 'on-fail="fence"' in cib and "allow_stonith_disabled" not in cib
    assert not (etc / "dlm").exists()  # dlm fences through pacemaker: no enable_fencing=0
    steps = [s["id"] for s in json.loads((out / "nodes/drbd-node1/node.json").read_text())["steps"]]
    assert steps[-2:] == ["start-services:pacemaker", "push-cib"]
    second = json.loads((out / "nodes/drbd-node2/node.json").read_text())["steps"]
    assert "push-cib" not in [s["id"] for s in second]


@pytest.mark.parametrize(
    ("site", "old", "new", "message"),
    [
        ("lab-legacy", "--rabbit_host=", "rabbit_host=", "not --flag=value"),
        ("lab-legacy", "--sql_connection=", "--sql_connexion=", "missing --sql_connection"),
        ("lab-debian", "transport_url =", "transport_uri =", "missing [DEFAULT] transport_url"),
        ("lab-debian", "[DEFAULT]", "DEFAULT", "File contains no section headers"),
    ],
)
def test_nova_conf_checker_rejects(site: str, old: str, new: str, message: str, out_root: Path, tmp_path: Path) -> None:
    out = render(SITES / f"{site}.yml", out_root)
    etc = copy_node(out, "drbd-node1", tmp_path)
    view = plan(load_site(SITES / f"{site}.yml")).node("drbd-node1")
    nova = etc / "nova/nova.conf"
    assert check_nova_conf(nova, view)[0]
    edit(nova, old, new)
    ok, said = check_nova_conf(nova, view)
    assert not ok and message in said and "test-" not in said  # never shows a password


@pytest.mark.parametrize(("site", "dialect"), [("lab-legacy", "8.3"), ("lab-debian", "8.4"), ("lab-el9", "9")])
def test_udev_names_the_device_as_the_lint_expects(site: str, dialect: str, out_root: Path, tmp_path: Path) -> None:
    # DRBD021 accepts exactly the by-res name drbdadm sh-udev (what udev links) gives the rendered resource
    require_tool("drbdadm")
    require_netns()
    etc = copy_node(render(SITES / f"{site}.yml", out_root), "drbd-node1", tmp_path)
    expected = BY_RES_NAME[dialect].format(res="r0")
    assert udev_by_res(etc, "drbd-node1", IPv4Address("10.0.0.1"), dialect, 0) == expected


@pytest.mark.parametrize("site", ["lab-el9", "lab-debian"])
def test_every_agent_of_the_cib_exists_with_its_required_parameters(site: str, out_root: Path, tmp_path: Path) -> None:
    for tool in ("crm_resource", "stonith_admin", "fence_ipmilan"):
        require_tool(tool)
    out = render(with_fence_devices(site, tmp_path), out_root)
    cib = out / "nodes/drbd-node1/etc/kickbake/cib.xml"
    ok, said = check_agents(cib)
    assert ok, said
    assert {p.agent for p in primitives(cib)} >= {"fence_ipmilan", "ocf:linbit:drbd", "ocf:heartbeat:LVM-activate"}
    # the checker bites: an agent that does not exist, a required parameter left out, one the agent lacks
    broken = tmp_path / "cib.xml"
    text = cib.read_text()
    for old, new, message in [
        ('provider="linbit" type="drbd"', 'provider="linbit" type="drdb"', "ocf:linbit:drdb does not exist"),
        ('type="fence_ipmilan"', 'type="fence_ipmi"', "fence agent fence_ipmi does not exist"),
        ('name="vgname"', 'name="vg_name"', "ocf:heartbeat:LVM-activate needs vgname, which is not set"),
        ('value="r0"/>', 'value="r0"/><nvpair id="x" name="resource" value="r0"/>',
         "ocf:linbit:drbd has no parameter resource"),
    ]:
        assert old in text, old
        broken.write_text(text.replace(old, new, 1))
        ok, said = check_agents(broken)
        assert not ok and message in said, (old, said)


@pytest.mark.parametrize(
    ("site", "settings"),
    [
        ("lab-el9", ""),
        ("lab-debian", ""),
        ("lab-debian", "    transport: udpu\n    crypto: false\n    quorum: {wait_for_all: false}\n"),
        ("lab-el9", "    crypto: false\n    quorum: {wait_for_all: true}\n"),
    ],
)
def test_corosync_conf_is_what_pcs_writes(site: str, settings: str, out_root: Path, tmp_path: Path) -> None:
    # pcs cluster setup --corosync_conf (offline) writes the same cluster as the rendered file
    require_tool("pcs")
    path = tmp_path / f"{site}.yml"
    text = (SITES / f"{site}.yml").read_text()
    path.write_text(text.replace("    stack: current\n", "    stack: current\n" + settings))
    out = render(path, out_root)
    (view,) = cluster_views(plan(load_site(path)))
    rendered = out / "nodes/drbd-node1/etc/corosync/corosync.conf"
    ok, said = compare_with_pcs(view, rendered)
    assert ok, said
    # and a difference is named: a node id changed
    text = rendered.read_text()
    assert text.count("nodeid: 1") == 1
    rendered.write_text(text.replace("nodeid: 1", "nodeid: 9"))
    ok, said = compare_with_pcs(view, rendered)
    assert not ok and "node drbd-node1 1 10.0.0.1" in said and "node drbd-node1 9 10.0.0.1" in said, said
