"""Rules every cluster obeys whatever its stack: membership, node ids, quorum arithmetic."""

from __future__ import annotations

from collections import Counter

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import clusters, index, known_nodes, node_loc, releases_of, two_node
from kickbake.model.plan import SitePlan


@rule("CL001", Severity.ERROR, "two_node only with exactly two members")
def two_node_needs_two_members(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.quorum.two_node and len(cluster.members) != 2:
            yield ("clusters", i, "quorum", "two_node"), (
                f"two_node is on but {cluster.name} has {len(cluster.members)} members"
            ), "two_node is for exactly two members: remove quorum.two_node (or set it false)"


@rule("CL002", Severity.WARNING, "two members without two_node stop when one fails")
def two_members_without_two_node(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if len(cluster.members) == 2 and cluster.quorum.two_node is False:
            yield ("clusters", i, "quorum", "two_node"), (
                f"{cluster.name} has two members and two_node off: losing either member loses quorum"
            ), "remove quorum.two_node: false (two members get two_node automatically)"


@rule("CL003", Severity.ERROR, "node ids are unique within a cluster")
def nodeids_unique(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        ids = plan.nodeids(cluster)
        counts = Counter(ids.values())
        for member, nodeid in ids.items():
            if counts[nodeid] > 1 and member in cluster.nodeids:
                others = sorted(m for m, n in ids.items() if n == nodeid and m != member)
                yield ("clusters", i, "nodeids", member), (
                    f"node id {nodeid} of {member} is also the id of {', '.join(others)}"
                ), "give every member its own id (or drop nodeids to get 1, 2, ... in member order)"


@rule("CL004", Severity.ERROR, "node ids are greater than zero")
def nodeids_positive(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        for member, nodeid in cluster.nodeids.items():
            if nodeid < 1:
                yield ("clusters", i, "nodeids", member), (
                    f"node id {nodeid} of {member}: cman and corosync reserve 0 and need ids > 0"
                ), "use ids from 1 up"


@rule("CL005", Severity.ERROR, "a node is a member of one cluster only")
def one_cluster_per_node(plan: SitePlan) -> RuleResult:
    seen: dict[str, str] = {}
    for i, cluster in clusters(plan):
        for j, member in enumerate(cluster.members):
            if member in seen:
                yield ("clusters", i, "members", j), (
                    f"{member} is already a member of cluster {seen[member]}; a node runs one cluster stack"
                ), f"remove {member} from one of the two clusters"
            else:
                seen[member] = cluster.name


@rule("CL006", Severity.ERROR, "a member has exactly one address on the ring network")
def one_ring_address(plan: SitePlan) -> RuleResult:
    for _, cluster in clusters(plan):
        for member in known_nodes(plan, cluster.members):
            node = index(plan).nodes[member]
            on_ring = [j for j, f in enumerate(node.interfaces) if f.network == cluster.network and f.address]
            for j in on_ring[1:]:
                yield (*node_loc(plan, member), "interfaces", j, "address"), (
                    f"{member} has {len(on_ring)} addresses on ring network {cluster.network}; "
                    "cman/corosync pick the local node by the address its name resolves to"
                ), f"keep one interface with an address on {cluster.network}"


@rule("CL007", Severity.ERROR, "expected_votes cannot let two partitions both have quorum")
def expected_votes_majority(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        votes = cluster.quorum.expected_votes
        members = len(cluster.members)
        if votes is None or two_node(cluster):
            continue
        quorum = votes // 2 + 1
        if 2 * quorum <= members:
            yield ("clusters", i, "quorum", "expected_votes"), (
                f"expected_votes {votes} makes quorum {quorum} of {members} members: "
                "two halves can both be quorate (split brain)"
            ), f"remove expected_votes or set it to {members} (one vote per member)"


@rule("CL008", Severity.ERROR, "all members of a cluster run the same release")
def members_same_release(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        releases = releases_of(plan, cluster.members)
        if len({r.name for r in releases.values()}) > 1:
            listed = ", ".join(f"{h}: {r.name}" for h, r in sorted(releases.items()))
            yield ("clusters", i, "members"), (
                f"members of {cluster.name} run different releases ({listed}); "
                "their cluster configs are rendered once and must be identical"
            ), "give every member the same release (node.release or role release)"


