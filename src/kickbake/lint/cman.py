"""Rules for legacy clusters (cman, cluster 3.1 on Fedora 15/16): cluster.conf semantics.

Sources: cman(5), cluster.conf(5), fenced(8) of cluster 3.x."""

from __future__ import annotations

from ipaddress import IPv4Network

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import clusters, explicit, is_legacy, two_node
from kickbake.model.plan import SitePlan
from kickbake.model.types import FencingMode

_CONTROL_BLOCK = IPv4Network("224.0.0.0/8")
_FENCED_DEFAULT_POST_JOIN_DELAY = 6


@rule("CMAN001", Severity.ERROR, "cman two_node needs expected_votes 1")
def cman_two_node_expected_votes(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        votes = cluster.quorum.expected_votes
        if is_legacy(cluster) and two_node(cluster) and votes is not None and votes != 1:
            yield ("clusters", i, "quorum", "expected_votes"), (
                f"cman two_node=\"1\" needs expected_votes=\"1\", not {votes} "
                "(cman(5): two nodes, one vote each, two_node and expected_votes set to 1)"
            ), "remove quorum.expected_votes (kickbake writes 1) or set it to 1"


@rule("CMAN002", Severity.ERROR, "cman has no knet transport")
def cman_transport(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if is_legacy(cluster) and explicit(cluster, "transport") and cluster.transport == "knet":
            yield ("clusters", i, "transport"), (
                "knet is corosync 3's transport; cman (corosync 1.x) talks udp multicast"
            ), "remove transport (cman uses multicast), or write udp"


@rule("CMAN003", Severity.WARNING, "wait_for_all does nothing under cman")
def cman_wait_for_all(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if is_legacy(cluster) and cluster.quorum.wait_for_all is not None:
            yield ("clusters", i, "quorum", "wait_for_all"), (
                "wait_for_all is a corosync 2+ votequorum option; cman ignores it"
            ), "remove quorum.wait_for_all from a legacy cluster"


@rule("CMAN004", Severity.ERROR, "the ring multicast address is a multicast address")
def multicast_is_multicast(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.multicast is not None and not cluster.multicast.is_multicast:
            yield ("clusters", i, "multicast"), (
                f"{cluster.multicast} is not a multicast address (224.0.0.0/4)"
            ), "write an administratively scoped address such as 239.192.10.1, or remove it to derive one"


@rule("CMAN005", Severity.WARNING, "the ring multicast address avoids 224.x.x.x")
def multicast_not_control_block(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.multicast is not None and cluster.multicast in _CONTROL_BLOCK:
            yield ("clusters", i, "multicast"), (
                f"{cluster.multicast} is in 224.x.x.x, which corosync.conf(5) says to avoid "
                "(reserved and routed control groups)"
            ), "use 239.192.x.x (cman's own default range)"


@rule("CMAN006", Severity.WARNING, "fenced post_join_delay gives a two-node cman time to join")
def cman_post_join_delay(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        delay = cluster.fencing.post_join_delay
        if (is_legacy(cluster) and two_node(cluster) and cluster.fencing.mode is FencingMode.DEVICE
                and delay < _FENCED_DEFAULT_POST_JOIN_DELAY):
            yield ("clusters", i, "fencing", "post_join_delay"), (
                f"post_join_delay {delay}s is below fenced's default of 6s: the node that starts first "
                "fences the other before it can join"
            ), "use 30 (kickbake's default) or more"
