"""Derived cluster, DRBD and LVM values for the node-config renderer (and the linter).

Everything a cluster-wide file needs that is not written literally in the inventory is computed
here, once: nodeids, ring and replication addresses, quorum settings, the cman multicast
default, DRBD minors and DRBD 9 node-ids, fence-peer handlers and the LVM filters."""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from itertools import combinations

from kickbake.model.catalog import StackFacts
from kickbake.model.plan import SitePlan
from kickbake.model.schema import Cluster, DrbdResource, FenceDevice
from kickbake.model.types import DrbdFencing, FencingMode, Stack

_DRBD_DEVICE = re.compile(r"/dev/drbd(?P<minor>[0-9]+)")


@dataclass(frozen=True)
class MemberView:
    name: str
    nodeid: int
    ring_addr: IPv4Address
    fence_devices: tuple[FenceDevice, ...]


@dataclass(frozen=True)
class ClusterView:
    cluster: Cluster
    members: tuple[MemberView, ...]  # in the inventory's member order
    two_node: bool
    expected_votes: int | None
    wait_for_all: bool | None
    multicast: IPv4Address  # cman only: <multicast addr=...>
    crypto: bool  # rendered crypto: knet only (corosync refuses crypto on udp/udpu)
    facts: StackFacts  # of the first member's release (lint checks members agree)

    @property
    def name(self) -> str:
        return self.cluster.name

    @property
    def stack(self) -> Stack:
        return self.cluster.stack

    @property
    def fencing_mode(self) -> FencingMode:
        return self.cluster.fencing.mode

    @property
    def has_fence_devices(self) -> bool:
        return self.fencing_mode is FencingMode.DEVICE and any(m.fence_devices for m in self.members)

    @property
    def first(self) -> str:
        """The member that runs the ONE-node steps (initial sync, vgcreate, CIB push)."""
        return self.members[0].name


@dataclass(frozen=True)
class DrbdHostView:
    name: str
    address: IPv4Address
    node_id: int  # DRBD 9 node-id: 0, 1, ... in member order


# DRBD 8.3/8.4 nodes of their time ship hmac(sha1); DRBD 9 documents sha256
CRAM_HMAC_ALG = {"8.3": "sha1", "8.4": "sha1", "9": "sha256"}

# The udev name of a rendered resource's device, by dialect (drbd.conf(5) 9 `device` and
# `udev-always-use-vnr`): 8.3 has no volumes (/dev/drbd/by-res/<res>); the 8.4 template writes
# `volume 0` and the 9 one sets udev-always-use-vnr, so both get /dev/drbd/by-res/<res>/0.
BY_RES_NAME = {"8.3": "/dev/drbd/by-res/{res}", "8.4": "/dev/drbd/by-res/{res}/0", "9": "/dev/drbd/by-res/{res}/0"}
UDEV_ALWAYS_USE_VNR = {"8.3": False, "8.4": False, "9": True}


@dataclass(frozen=True)
class DrbdView:
    resource: DrbdResource
    dialect: str  # "8.3", "8.4" or "9" (release facts)
    minor: int
    hosts: tuple[DrbdHostView, ...]
    allow_two_primaries: bool
    become_primary_on_both: bool
    fencing: DrbdFencing
    fence_peer: str | None  # handler path; only with a fencing policy other than dont-care
    unfence_peer: str | None

    @property
    def name(self) -> str:
        return self.resource.name

    @property
    def cram_hmac_alg(self) -> str:
        """The peer authentication digest (drbd.conf(5) net cram-hmac-alg: any kernel shash)."""
        return CRAM_HMAC_ALG[self.dialect]

    @property
    def first(self) -> str:
        return self.hosts[0].name

    @property
    def connections(self) -> tuple[tuple[DrbdHostView, DrbdHostView], ...]:
        """DRBD 9: one connection per pair of hosts (a full mesh)."""
        return tuple(combinations(self.hosts, 2))


def cman_multicast(name: str) -> IPv4Address:
    """The address cman 3 would pick by itself (cman-preconfig.c: generate_cluster_id and
    default_mcast: 239.192.(id >> 8).(id % 0xFF)); written out so the file says what happens."""
    value = 0
    for char in name.encode():
        value = (value << 1) + char
    cluster_id = value & 0xFFFF
    return IPv4Address(f"239.192.{cluster_id >> 8}.{cluster_id % 0xFF}")


# --- the defaults the renderer applies to what the inventory left out (the lint reads these too)


def effective_two_node(cluster: Cluster) -> bool:
    """two_node as rendered: the override, else on exactly when there are two members."""
    return cluster.quorum.two_node if cluster.quorum.two_node is not None else len(cluster.members) == 2


def effective_allow_two_primaries(resource: DrbdResource) -> bool:
    return resource.dual_primary if resource.allow_two_primaries is None else resource.allow_two_primaries


def effective_become_primary_on_both(resource: DrbdResource) -> bool:
    """Before the dialect rule (DRBD 9 has no startup{} option: drbd_view drops it there)."""
    return resource.dual_primary if resource.become_primary_on_both is None else resource.become_primary_on_both


def effective_drbd_fencing(resource: DrbdResource) -> DrbdFencing:
    # the default follows dual_primary alone, so allow_two_primaries forced on without
    # dual_primary renders resource-only fencing (and lint rule DRBD003 says so)
    if resource.fencing is not None:
        return resource.fencing
    return DrbdFencing.RESOURCE_AND_STONITH if resource.dual_primary else DrbdFencing.RESOURCE_ONLY


def cluster_view(plan: SitePlan, cluster: Cluster) -> ClusterView:
    nodeids = plan.nodeids(cluster)
    members = tuple(
        MemberView(
            name=m,
            nodeid=nodeids[m],
            ring_addr=plan.node(m).address_on(cluster.network),
            fence_devices=tuple(d for d in cluster.fencing.devices if d.node == m),
        )
        for m in cluster.members
    )
    two_node = effective_two_node(cluster)
    expected = cluster.quorum.expected_votes
    if expected is None and cluster.stack is Stack.LEGACY and two_node:
        expected = 1  # cman: two_node="1" needs expected_votes="1" (cman(5))
    return ClusterView(
        cluster=cluster,
        members=members,
        two_node=two_node,
        expected_votes=expected,
        wait_for_all=cluster.quorum.wait_for_all,
        multicast=cluster.multicast or cman_multicast(cluster.name),
        crypto=cluster.crypto and (cluster.stack is Stack.LEGACY or cluster.transport == "knet"),
        facts=plan.node(cluster.members[0]).release.facts,
    )


def cluster_views(plan: SitePlan) -> tuple[ClusterView, ...]:
    return tuple(cluster_view(plan, c) for c in plan.site.clusters)


def parse_drbd_minor(device: str) -> int | None:
    """/dev/drbdN -> N (the DRBD minor); None when `device` is not a DRBD device."""
    match = _DRBD_DEVICE.fullmatch(device)
    return None if match is None else int(match["minor"])


def drbd_minor(device: str) -> int:
    minor = parse_drbd_minor(device)
    if minor is None:
        raise ValueError(f"{device!r} is not /dev/drbdN")
    return minor


def drbd_view(plan: SitePlan, resource: DrbdResource) -> DrbdView:
    facts = plan.node(resource.members[0]).release.facts
    hosts = tuple(
        DrbdHostView(m, plan.node(m).address_on(resource.network), index) for index, m in enumerate(resource.members)
    )
    fencing = effective_drbd_fencing(resource)
    handlers = fencing is not DrbdFencing.DONT_CARE
    return DrbdView(
        resource=resource,
        dialect=facts.drbd_dialect,
        minor=drbd_minor(resource.device),
        hosts=hosts,
        allow_two_primaries=effective_allow_two_primaries(resource),
        become_primary_on_both=effective_become_primary_on_both(resource) and facts.drbd_dialect != "9",
        fencing=fencing,
        fence_peer=(resource.fence_peer_handler or facts.drbd_fence_peer) if handlers else None,
        unfence_peer=facts.drbd_unfence_peer if handlers else None,
    )


def drbd_views(plan: SitePlan) -> tuple[DrbdView, ...]:
    return tuple(drbd_view(plan, r) for r in plan.site.drbd)


def _regex_path(path: str) -> str:
    return re.escape(path).replace("\\/", "/")


def lvm_filters(
    plan: SitePlan, hostname: str, resources: tuple[DrbdResource, ...] | None = None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(filter, global_filter) for a node's lvm.conf. Default filter: reject the DRBD backing
    disks, accept /dev/drbd*, accept the root disk (its PVs), reject everything else; default
    global_filter: reject the backing disks (duplicate PV labels under DRBD). First match wins."""
    site = plan.site
    resources = plan.drbd_of(hostname) if resources is None else resources
    backing = sorted({r.disk for r in resources})
    rejects = tuple(f"r|^{_regex_path(disk)}$|" for disk in backing)
    root = f"/dev/{plan.node(hostname).root_disk}"
    derived = (*rejects, "a|^/dev/drbd.*|", f"a|^{_regex_path(root)}.*|", "r|.*|")
    lvm_filter = site.lvm.filter if site.lvm.filter is not None else derived
    global_filter = site.lvm.global_filter if site.lvm.global_filter is not None else rejects
    return tuple(lvm_filter), tuple(global_filter)
