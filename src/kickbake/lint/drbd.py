"""DRBD rules about roles and fencing: what dual-primary needs, and how a peer is fenced.

Sources: drbd.conf(5) 8.3/8.4/9, drbdsetup options (allow-two-primaries), the DRBD 9 user's
guide chapter on dual-primary mode, drbdadm 8.x (become-primary-on both check), the DRBD 8.4 and
9 user's guides on resource-level fencing through the CIB (crm-fence-peer.sh / .9.sh)."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import (
    address_on,
    allow_two_primaries,
    another_network_hint,
    become_primary_on_both,
    cluster_loc,
    cluster_of,
    dialect,
    drbd_fencing,
    explicit,
    known_nodes,
    node_view,
    releases_of,
    resources,
    two_primaries,
)
from kickbake.model.plan import SitePlan
from kickbake.model.types import DrbdFencing, Stack

# fence-peer handlers shipped by drbd-utils, by the cluster stack they call into
_HANDLER_STACK = {
    "rhcs_fence": Stack.LEGACY, "obliterate-peer.sh": Stack.LEGACY,
    "crm-fence-peer.sh": Stack.CURRENT, "crm-fence-peer.9.sh": Stack.CURRENT,
    "stonith_admin-fence-peer.sh": Stack.CURRENT,
}
# the CIB handlers exist per DRBD generation: the 8.4 user's guide ("Resource-level fencing using
# the Cluster Information Base") names crm-fence-peer.sh, the DRBD 9 guide crm-fence-peer.9.sh,
# which reads DRBD 9's per-peer state (node-ids); each misreads the other's environment
_HANDLER_DRBD = {"crm-fence-peer.sh": "8.x", "crm-fence-peer.9.sh": "9"}


@rule("DRBD001", Severity.ERROR, "dual-primary needs protocol C")
def dual_primary_protocol(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if two_primaries(res) and res.protocol != "C":
            yield ("drbd", r, "protocol"), (
                f"{res.name} lets two primaries write but uses protocol {res.protocol}: "
                "dual-primary mode requires synchronous protocol C"
            ), "set protocol: C"


@rule("DRBD002", Severity.ERROR, "dual-primary needs allow-two-primaries")
def dual_primary_allow(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if res.dual_primary and not allow_two_primaries(res):
            yield ("drbd", r, "allow_two_primaries"), (
                f"{res.name} is dual_primary but allow-two-primaries is off: the second promote fails"
            ), "remove allow_two_primaries: false"


@rule("DRBD003", Severity.ERROR, "dual-primary needs fencing resource-and-stonith")
def dual_primary_fencing(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        policy = drbd_fencing(res)
        if two_primaries(res) and policy is not DrbdFencing.RESOURCE_AND_STONITH:
            yield ("drbd", r, "fencing"), (
                f"{res.name} lets two primaries write with fencing {policy.value}: after a link failure "
                "both sides keep writing (split brain)"
            ), (
                "write fencing: resource-and-stonith (or set dual_primary: true, which defaults to it)"
                if res.fencing is None else
                "remove fencing (dual-primary defaults to resource-and-stonith) or write resource-and-stonith"
            )


@rule("DRBD004", Severity.ERROR, "the fence-peer handler is an absolute path")
def fencing_has_handler(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        handler = res.fence_peer_handler
        members = known_nodes(plan, res.members)
        if handler is None or handler.startswith("/") or not members:
            continue
        default = node_view(plan, members[0]).release.facts.drbd_fence_peer
        shown = f"{handler!r} is not an absolute path" if handler else "is empty (the release's is used)"
        yield ("drbd", r, "fence_peer_handler"), (
            f"fence_peer_handler {shown}: drbdadm runs handlers by path, so fencing "
            f"{drbd_fencing(res).value} would call nothing it can find"
        ), f"remove fence_peer_handler to use the release's {default}, or write a full path"


@rule("DRBD005", Severity.ERROR, "become-primary-on both needs allow-two-primaries")
def become_primary_needs_allow(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if become_primary_on_both(res) and not allow_two_primaries(res):
            yield ("drbd", r, "become_primary_on_both"), (
                "become-primary-on both without allow-two-primaries: drbdadm 8.x refuses the resource "
                "('become-primary-on is set to both, but allow-two-primaries is not set')"
            ), "remove become_primary_on_both, or make the resource dual_primary"


@rule("DRBD006", Severity.WARNING, "become-primary-on does not exist in DRBD 9")
def become_primary_drbd9(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        nines = [h for h, rel in releases_of(plan, res.members).items() if dialect(rel) == "9"]
        if explicit(res, "become_primary_on_both") and res.become_primary_on_both and nines:
            yield ("drbd", r, "become_primary_on_both"), (
                "DRBD 9 has no startup become-primary-on: pacemaker's promotable clone promotes both"
            ), "remove become_primary_on_both"


@rule("DRBD007", Severity.WARNING, "the fence-peer path is not the replication link")
def fence_path_not_replication(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if drbd_fencing(res) is DrbdFencing.DONT_CARE:
            continue
        if res.fence_peer_network is None or res.fence_peer_network == res.network:
            loc = ("drbd", r, "fence_peer_network") if res.fence_peer_network else ("drbd", r, "network")
            yield loc, (
                f"{res.name} fences its peer over {res.network}, the replication link itself: when that "
                "link fails the handler cannot reach the peer (drbd.conf(5) fence-peer)"
            ), ("set fence_peer_network to another network all members are on, "
                f"{another_network_hint(plan, res.members, res.network)}")


@rule("DRBD008", Severity.ERROR, "every member has an address on the fence-peer network")
def fence_network_reachable(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        network = res.fence_peer_network
        if network is None or all(n.name != network for n in plan.site.networks):
            continue
        for member in known_nodes(plan, res.members):
            if address_on(plan, member, network) is None:
                yield ("drbd", r, "fence_peer_network"), (
                    f"{member} has no address on {network}: the fence-peer handler cannot reach it"
                ), f"give {member} an interface on {network}, or pick a network every member is on"


@rule("DRBD009", Severity.ERROR, "the fence-peer handler belongs to the cluster stack and DRBD version")
def handler_matches_stack(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        if res.fence_peer_handler is None:
            continue
        script = res.fence_peer_handler.rsplit("/", 1)[-1]
        for member in known_nodes(plan, res.members):
            cluster = cluster_of(plan, member)
            stack = _HANDLER_STACK.get(script)
            drbd = dialect(node_view(plan, member).release)
            if cluster is not None and stack is not None and stack is not cluster.stack:
                why = (f"{script} fences through a {stack.value} cluster, "
                       f"but {member}'s cluster is {cluster.stack.value}")
            elif script in _HANDLER_DRBD and (drbd == "9") != (_HANDLER_DRBD[script] == "9"):
                why = f"{script} is for DRBD {_HANDLER_DRBD[script]}, {member} runs DRBD {drbd}"
            else:
                continue
            yield ("drbd", r, "fence_peer_handler"), f"{why}: the handler cannot fence", (
                "remove fence_peer_handler to use the release's handler"
            )
            break


@rule("DRBD020", Severity.ERROR, "dual-primary on cman promotes both nodes at boot")
def cman_dual_primary_promotes(plan: SitePlan) -> RuleResult:
    """On the cman/clvmd stack no pacemaker promotes DRBD: only the drbd init script does, and it
    makes a node primary at start only with `startup { become-primary-on both; }` (drbd.conf(5)
    8.3/8.4 become-primary-on). Without it both nodes come up Secondary after every reboot, clvmd
    cannot open the PV and the shared VG stays down until someone runs `drbdadm primary`."""
    for r, res in resources(plan):
        if not two_primaries(res) or become_primary_on_both(res):
            continue
        legacy = sorted(m for m in known_nodes(plan, res.members)
                        if (c := cluster_of(plan, m)) is not None and c.stack is Stack.LEGACY
                        and dialect(node_view(plan, m).release) != "9")
        if legacy:
            yield ("drbd", r, "become_primary_on_both"), (
                f"{res.name} is dual-primary on the cman stack of {', '.join(legacy)} without become-primary-on "
                "both: nothing promotes it at boot, so after every reboot both nodes stay Secondary and "
                "the shared VG on it stays down"
            ), ("remove become_primary_on_both: false (dual-primary defaults to both)"
                if explicit(res, "become_primary_on_both") else "set become_primary_on_both: true")


@rule("DRBD018", Severity.WARNING, "the cluster ring is not the DRBD replication link alone")
def ring_not_replication_link(plan: SitePlan) -> RuleResult:
    for _, res in resources(plan):
        if drbd_fencing(res) is DrbdFencing.DONT_CARE:
            continue
        cluster = next((c for m in res.members if (c := cluster_of(plan, m))), None)
        if cluster is not None and cluster.network == res.network:
            yield (*cluster_loc(plan, cluster), "network"), (
                f"cluster {cluster.name} and DRBD {res.name} share {res.network}: one link failure cuts "
                "replication and membership together, and the fence-peer handler, which fences through "
                "the cluster, has no path left (drbd.conf(5): the handler should not use DRBD's path)"
            ), (f"run the cluster ring on another network than {res.network}, "
                f"{another_network_hint(plan, cluster.members, res.network)}")
