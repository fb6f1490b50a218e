"""Derived values the lint rules share: effective settings (an override, else the default the
renderer uses), indexes into the inventory for error locations, and LVM filter semantics.

The defaults are the renderer's own (model/clusterview.py): the lint judges what will be
rendered, not a second reading of the inventory."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Address

from pydantic import BaseModel

from kickbake.model.catalog import Release
from kickbake.model.clusterview import (
    effective_allow_two_primaries,
    effective_become_primary_on_both,
    effective_drbd_fencing,
    effective_two_node,
    parse_drbd_minor,
)
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import Cluster, DrbdResource, Node, VolumeGroup
from kickbake.model.types import Stack

Loc = tuple[str | int, ...]

_BY_RES = re.compile(r"/dev/drbd/by-res/(?P<res>[^/]+)(?:/(?P<volume>[0-9]+))?")


def explicit(model: BaseModel, field: str) -> bool:
    """True when the inventory wrote the field, as opposed to taking its default."""
    return field in model.model_fields_set


@dataclass(frozen=True)
class _Index:
    """Lookups built once per plan: rules ask them per member, and a linear scan each time makes
    the lint quadratic in the node count."""

    node_index: dict[str, int]
    nodes: dict[str, Node]
    views: dict[str, NodeView]
    cluster_of: dict[str, Cluster]
    cluster_index: dict[str, int]
    clusters: dict[str, Cluster]
    by_device: dict[str, list[tuple[int, DrbdResource]]]
    by_name: dict[str, tuple[int, DrbdResource]]
    by_member: dict[str, list[tuple[int, DrbdResource]]]
    shared_vgs: dict[str, list[tuple[int, VolumeGroup]]]


@lru_cache(maxsize=4)
def index(plan: SitePlan) -> _Index:
    cluster_of: dict[str, Cluster] = {}
    for cluster in plan.site.clusters:
        for member in cluster.members:
            cluster_of.setdefault(member, cluster)  # the first, as plan.cluster_of does
    by_device: dict[str, list[tuple[int, DrbdResource]]] = {}
    by_member: dict[str, list[tuple[int, DrbdResource]]] = {}
    for i, res in enumerate(plan.site.drbd):
        by_device.setdefault(res.device, []).append((i, res))
        for member in res.members:
            by_member.setdefault(member, []).append((i, res))
    shared: dict[str, list[tuple[int, VolumeGroup]]] = {}
    for i, vg in enumerate(plan.site.volume_groups):
        if vg.shared and vg.cluster:
            shared.setdefault(vg.cluster, []).append((i, vg))
    return _Index(
        node_index={n.hostname: i for i, n in enumerate(plan.site.nodes)},
        nodes={n.hostname: n for n in plan.site.nodes},
        views={v.hostname: v for v in plan.nodes},
        cluster_of=cluster_of,
        cluster_index={c.name: i for i, c in enumerate(plan.site.clusters)},
        clusters={c.name: c for c in plan.site.clusters},
        by_device=by_device,
        by_name={r.name: (i, r) for i, r in reversed(list(enumerate(plan.site.drbd)))},
        by_member=by_member,
        shared_vgs=shared,
    )


def node_loc(plan: SitePlan, hostname: str) -> Loc:
    return ("nodes", index(plan).node_index[hostname])


def node_view(plan: SitePlan, hostname: str) -> NodeView:
    return index(plan).views[hostname]


def cluster_of(plan: SitePlan, hostname: str) -> Cluster | None:
    return index(plan).cluster_of.get(hostname)


def cluster_loc(plan: SitePlan, cluster: Cluster) -> Loc:
    return ("clusters", index(plan).cluster_index[cluster.name])


def clusters(plan: SitePlan) -> Iterator[tuple[int, Cluster]]:
    yield from enumerate(plan.site.clusters)


def resources(plan: SitePlan) -> Iterator[tuple[int, DrbdResource]]:
    yield from enumerate(plan.site.drbd)


def volume_groups(plan: SitePlan) -> Iterator[tuple[int, VolumeGroup]]:
    yield from enumerate(plan.site.volume_groups)


def known_nodes(plan: SitePlan, hostnames: tuple[str, ...]) -> list[str]:
    names = index(plan).nodes
    return [h for h in hostnames if h in names]


def releases_of(plan: SitePlan, hostnames: tuple[str, ...]) -> dict[str, Release]:
    return {h: node_view(plan, h).release for h in known_nodes(plan, hostnames)}


def cluster_named(plan: SitePlan, name: str | None) -> Cluster | None:
    return index(plan).clusters.get(name) if name is not None else None


# --- the renderer's defaults (model/clusterview.py), under the names the rules use -----------
two_node = effective_two_node
allow_two_primaries = effective_allow_two_primaries
become_primary_on_both = effective_become_primary_on_both
drbd_fencing = effective_drbd_fencing


def two_primaries(res: DrbdResource) -> bool:
    """Both members may be primary at once: dual_primary, or allow-two-primaries forced on."""
    return res.dual_primary or res.allow_two_primaries is True


def minor(res: DrbdResource) -> int | None:
    return parse_drbd_minor(res.device)


def address_on(plan: SitePlan, hostname: str, network: str) -> IPv4Address | None:
    node = index(plan).nodes[hostname]
    return next((i.address for i in node.interfaces if i.network == network and i.address), None)


def shared_networks(plan: SitePlan, hostnames: tuple[str, ...], besides: str) -> list[str]:
    """Networks every one of `hostnames` has an address on, other than `besides`."""
    common = None
    for hostname in known_nodes(plan, hostnames):
        on = {f.network for f in index(plan).nodes[hostname].interfaces if f.address}
        common = on if common is None else common & on
    return sorted((common or set()) - {besides})


def another_network_hint(plan: SitePlan, hostnames: tuple[str, ...], besides: str) -> str:
    others = shared_networks(plan, hostnames, besides)
    return f"e.g. {others[0]}" if others else "give the members a second network first"


def by_res_name(device: str) -> tuple[str, str | None] | None:
    """/dev/drbd/by-res/<res>[/<volume>] -> (res, volume or None): the names udev gives a DRBD
    device besides /dev/drbdN (drbd.conf(5) 9 `device`, `udev-always-use-vnr`)."""
    match = _BY_RES.fullmatch(device)
    return None if match is None else (match["res"], match["volume"])


def drbd_of_device(plan: SitePlan, device: str, vg: VolumeGroup | None = None) -> tuple[int, DrbdResource] | None:
    """The DRBD resource behind a VG's device: /dev/drbdN, or a /dev/drbd/by-res/<res> name of
    it (either form; DRBD021 says which one udev creates). Minors are per host, so several
    resources may be /dev/drbd0; the one whose members overlap the VG's cluster wins."""
    named = by_res_name(device)
    if named is not None:
        return index(plan).by_name.get(named[0])
    cluster = cluster_named(plan, vg.cluster) if vg is not None else None
    if cluster is not None:
        near = sorted({
            (i, r.name): (i, r) for m in cluster.members for i, r in index(plan).by_member.get(m, ())
            if r.device == device
        }.items())
        if near:
            return near[0][1]
    found = index(plan).by_device.get(device, [])
    return found[0] if found else None


def backing_disks(plan: SitePlan) -> dict[str, list[str]]:
    """Backing disk path -> names of the DRBD resources it backs."""
    found: dict[str, list[str]] = {}
    for _, res in resources(plan):
        found.setdefault(res.disk, []).append(res.name)
    return found


def dialect(release: Release) -> str:
    return release.facts.drbd_dialect


# --- clusters and storage -----------------------------------------------------------------


def shared_vgs(plan: SitePlan, cluster: Cluster) -> list[tuple[int, VolumeGroup]]:
    return index(plan).shared_vgs.get(cluster.name, [])


def needs_dlm(plan: SitePlan, cluster: Cluster) -> bool:
    """dlm runs under clvmd (legacy) and lvmlockd (current) whenever the cluster has a shared VG."""
    return bool(shared_vgs(plan, cluster))


def protects_shared_data(plan: SitePlan, cluster: Cluster) -> list[str]:
    """What on this cluster corrupts data when a failed member is not fenced."""
    reasons = [f"shared VG {v.name}" for _, v in shared_vgs(plan, cluster)]
    near = {i: r for m in cluster.members for i, r in index(plan).by_member.get(m, ())}
    reasons += [f"dual-primary DRBD {r.name}" for _, r in sorted(near.items()) if two_primaries(r)]
    return reasons


def is_legacy(cluster: Cluster) -> bool:
    return cluster.stack is Stack.LEGACY


# Ports (TCP) that other services listen on, by what listens there: a DRBD resource must not take one.
SERVICE_TCP_PORTS = {
    22: "sshd", 2224: "pcsd", 3121: "pacemaker-remote", 3306: "the database", 5672: "rabbitmq",
    6080: "nova-novncproxy", 8774: "nova-api", 8775: "nova metadata", 16509: "libvirtd",
    21064: "dlm",
}
