"""cluster.conf (cman, cluster 3.1): there is no cman or ccs_config_validate on Debian, so the
file is parsed as XML and checked for the structure cman and fenced read (cluster.conf(5),
cman(5), fenced(8)): mandatory attributes, unique positive nodeids, two_node rules, every
fence method's device defined, and no element cman would not know."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from ipaddress import IPv4Address
from pathlib import Path

TOP_LEVEL = {
    "cman",
    "totem",
    "fence_daemon",
    "clusternodes",
    "fencedevices",
    "logging",
    "rm",
    "dlm",
    "gfs_controld",
    "quorumd",
    "fence_xvmd",
    "group",
}


def _cluster_problems(root: ET.Element) -> list[str]:
    problems = []
    if root.tag != "cluster":
        return [f"root element is <{root.tag}>, cman needs <cluster>"]
    name = root.get("name", "")
    if not name or len(name) > 16:
        problems.append(f"cluster name {name!r} must be 1..16 characters")
    if not root.get("config_version", "").isdigit():
        problems.append("cluster config_version must be a non-negative integer")
    problems.extend(f"unknown element <{child.tag}> under <cluster>" for child in root if child.tag not in TOP_LEVEL)
    return problems


def _node_problems(root: ET.Element) -> list[str]:
    problems = []
    nodes = root.findall("./clusternodes/clusternode")
    if not nodes:
        problems.append("no <clusternodes><clusternode> entries")
    ids = [n.get("nodeid", "") for n in nodes]
    for node, nodeid in zip(nodes, ids, strict=True):
        if not node.get("name"):
            problems.append("a <clusternode> has no name")
        if not nodeid.isdigit() or int(nodeid) <= 0:
            problems.append(f"clusternode {node.get('name')}: nodeid {nodeid!r} must be > 0")
    if len(set(ids)) != len(ids):
        problems.append(f"nodeids are not unique: {ids}")
    cman = root.find("cman")
    if cman is not None and cman.get("two_node") == "1":
        if cman.get("expected_votes") != "1":
            problems.append('two_node="1" needs expected_votes="1" (cman(5))')
        if len(nodes) != 2 or any(n.get("votes", "1") != "1" for n in nodes):
            problems.append('two_node="1" needs exactly 2 clusternodes with 1 vote each')
    return problems


def _fence_problems(root: ET.Element) -> list[str]:
    problems = []
    devices = {d.get("name"): d for d in root.findall("./fencedevices/fencedevice")}
    for device in devices.values():
        if not device.get("agent", "").startswith("fence_"):
            problems.append(f"fencedevice {device.get('name')}: agent {device.get('agent')!r} is not fence_*")
        if device.get("agent") == "fence_manual":
            problems.append("fence_manual does not exist in cluster 3; leave the node without devices instead")
    for used in root.findall("./clusternodes/clusternode/fence/method/device"):
        if used.get("name") not in devices:
            problems.append(f"fence method uses undefined device {used.get('name')!r}")
    return problems


def _multicast_problems(root: ET.Element) -> list[str]:
    multicast = root.find("./cman/multicast")
    if multicast is None:
        return []
    try:
        ok = IPv4Address(multicast.get("addr", "")).is_multicast
    except ValueError:
        ok = False
    return [] if ok else [f"<multicast addr={multicast.get('addr')!r}> is not a multicast address"]


def check_cluster_conf(path: Path) -> tuple[bool, str]:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as error:
        return False, f"not XML: {error}"
    problems = _cluster_problems(root)
    if not problems:
        problems = _node_problems(root) + _fence_problems(root) + _multicast_problems(root)
    if problems:
        return False, "; ".join(problems)
    nodes = len(root.findall("./clusternodes/clusternode"))
    return True, f"cluster.conf structure valid for cman: cluster {root.get('name')}, {nodes} nodes"
