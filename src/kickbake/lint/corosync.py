"""Rules for corosync 3 (knet) clusters and ring security on every stack.

Sources: corosync.conf(5) and votequorum(5) of corosync 3.1; the two errors marked 'corosync -t'
were reproduced with corosync 3.1.7 (`corosync -c FILE -t`)."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import clusters, is_legacy, two_node
from kickbake.model.plan import SitePlan

_KNET_MAX_NODEID = 65535


@rule("CS001", Severity.ERROR, "corosync 3 two_node needs expected_votes 2")
def corosync_two_node_expected_votes(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        votes = cluster.quorum.expected_votes
        if not is_legacy(cluster) and two_node(cluster) and votes is not None and votes != 2:
            yield ("clusters", i, "quorum", "expected_votes"), (
                f"votequorum two_node counts both votes: expected_votes must be 2, not {votes} "
                "(cman's expected_votes=1 does not carry over)"
            ), "remove quorum.expected_votes (kickbake writes 2) or set it to 2"


@rule("CS002", Severity.WARNING, "ring traffic is encrypted and authenticated")
def ring_crypto(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if not cluster.crypto:
            what = "secauth" if is_legacy(cluster) else "crypto_cipher/crypto_hash"
            yield ("clusters", i, "crypto"), (
                f"{what} off: anyone on {cluster.network} can inject cluster messages and fence members"
            ), "remove crypto: false (kickbake generates the key under output/<site>/secrets/)"


@rule("CS003", Severity.ERROR, "corosync 3 encrypts only on knet")
def crypto_needs_knet(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if not is_legacy(cluster) and cluster.crypto and cluster.transport != "knet":
            yield ("clusters", i, "transport"), (
                f"crypto with transport {cluster.transport}: corosync -t says 'crypto_cipher & crypto_hash "
                "are only valid for the Knet transport'"
            ), "remove transport (knet is the default), or set crypto: false on a trusted network"


@rule("CS004", Severity.WARNING, "corosync 3 udp/udpu transports are deprecated")
def legacy_transports(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if not is_legacy(cluster) and cluster.transport != "knet":
            yield ("clusters", i, "transport"), (
                f"transport {cluster.transport} is deprecated in corosync 3 (single link, no crypto)"
            ), "remove transport to use knet"


@rule("CS005", Severity.WARNING, "two_node keeps wait_for_all on")
def two_node_wait_for_all(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if not is_legacy(cluster) and two_node(cluster) and cluster.quorum.wait_for_all is False:
            yield ("clusters", i, "quorum", "wait_for_all"), (
                "two_node without wait_for_all lets each node become quorate alone at boot and "
                "fence the other (votequorum(5): two_node enables wait_for_all)"
            ), "remove quorum.wait_for_all: false"


@rule("CS006", Severity.ERROR, "knet node ids are below 65536")
def knet_nodeid_range(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if is_legacy(cluster) or cluster.transport != "knet":
            continue
        for member, nodeid in cluster.nodeids.items():
            if nodeid > _KNET_MAX_NODEID:
                yield ("clusters", i, "nodeids", member), (
                    f"node id {nodeid} of {member}: corosync -t says 'Knet requires nodeid to be less than 65536'"
                ), "use ids from 1 to 65535"


@rule("CS007", Severity.WARNING, "a multicast address is only used by multicast transports")
def multicast_unused(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if not is_legacy(cluster) and cluster.transport != "udp" and cluster.multicast is not None:
            yield ("clusters", i, "multicast"), (
                f"transport {cluster.transport} is unicast: multicast {cluster.multicast} is ignored"
            ), "remove multicast"
