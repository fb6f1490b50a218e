"""Identity across subsystems: a node is the same name in the inventory, in DRBD `on` sections,
in the cluster node list and in /etc/hosts; the DRBD replicas under a shared VG are exactly
the members of the cluster that locks it."""

from __future__ import annotations

from collections.abc import Iterator

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import (
    cluster_named,
    cluster_of,
    drbd_of_device,
    known_nodes,
    node_loc,
    resources,
    two_primaries,
    volume_groups,
)
from kickbake.model.plan import SitePlan
from kickbake.model.schema import Cluster, DrbdResource, VolumeGroup


def _vg_resources(plan: SitePlan) -> Iterator[tuple[int, VolumeGroup, Cluster, int, DrbdResource]]:
    """(vg index, vg, its cluster, drbd index, resource) for every shared VG on a DRBD device."""
    for i, vg in volume_groups(plan):
        cluster = cluster_named(plan, vg.cluster)
        if not vg.shared or cluster is None:
            continue
        for device in vg.devices:
            found = drbd_of_device(plan, device, vg)
            if found is not None:
                yield i, vg, cluster, found[0], found[1]


@rule("ID001", Severity.ERROR, "every member of a cluster replicates the DRBD device its shared VG is on")
def cluster_member_in_drbd(plan: SitePlan) -> RuleResult:
    for i, vg, cluster, _, res in _vg_resources(plan):
        for member in cluster.members:
            if member not in res.members:
                yield ("volume_groups", i, "devices"), (
                    f"{member} is a member of cluster {cluster.name}, which locks {vg.name} on {res.device}, "
                    f"but not a member of DRBD resource {res.name}: it would see no {res.device}"
                ), f"add {member} to drbd {res.name} members, or remove it from cluster {cluster.name}"


@rule("ID002", Severity.ERROR, "the DRBD replicas under a shared VG are members of the VG's cluster")
def drbd_member_in_cluster(plan: SitePlan) -> RuleResult:
    for _, vg, cluster, r, res in _vg_resources(plan):
        for j, member in enumerate(res.members):
            if member not in cluster.members:
                other = cluster_of(plan, member)
                where = f"a member of cluster {other.name}" if other else "in no cluster"
                yield ("drbd", r, "members", j), (
                    f"{member} holds {res.device} of shared VG {vg.name} (cluster {cluster.name}) but is {where}: "
                    "it would write the VG without the cluster's locks"
                ), f"make the DRBD members and cluster {cluster.name} members the same nodes"


@rule("ID003", Severity.ERROR, "a DRBD resource's members are all in the same cluster (or none)")
def drbd_within_one_cluster(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        owners = {m: cluster_of(plan, m) for m in known_nodes(plan, res.members)}
        names = {c.name if c else None for c in owners.values()}
        if len(names) > 1:
            listed = ", ".join(f"{m}: {c.name if c else 'no cluster'}" for m, c in sorted(owners.items()))
            yield ("drbd", r, "members"), (
                f"members of DRBD resource {res.name} sit in different clusters ({listed}); "
                "no one cluster can fence or promote both sides"
            ), "put all members of the resource in one cluster"


@rule("ID004", Severity.ERROR, "a dual-primary DRBD resource runs inside a cluster")
def dual_primary_in_cluster(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if two_primaries(res) and all(cluster_of(plan, m) is None for m in res.members):
            yield ("drbd", r, "dual_primary"), (
                f"{res.name} is dual-primary but none of its members is in a cluster: "
                "nothing fences a peer or locks what sits on the device"
            ), f"add a cluster with members {', '.join(res.members)}, or set dual_primary: false"


@rule("ID005", Severity.ERROR, "every name in /etc/hosts resolves to one address")
def hosts_names_unique(plan: SitePlan) -> RuleResult:
    addresses: dict[str, set[str]] = {}
    for line in plan.hosts_entries:
        address, *names = line.split()
        for name in names:
            addresses.setdefault(name, set()).add(address)
    for view in plan.nodes:
        found = addresses.get(view.hostname, set())
        if len(found) > 1:
            yield (*node_loc(plan, view.hostname), "hostname"), (
                f"{view.hostname} resolves to {', '.join(sorted(found))} in /etc/hosts: it is also another "
                "node's <host>-<network> alias, so cluster and DRBD peers may reach the wrong machine"
            ), "rename the node"
