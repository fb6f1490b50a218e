"""Network rules: a node has one default route, and it never points down a replication link.

Sources: the DRBD user's guide (a dedicated, back-to-back replication link carries DRBD only);
anaconda's `network --gateway` / NetworkManager: a gateway on every interface that has one gives
a node several default routes, and which one wins depends on metrics, not on the inventory."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import node_loc
from kickbake.model.plan import SitePlan
from kickbake.model.types import NetworkPurpose


@rule("NET001", Severity.ERROR, "a node has at most one default gateway")
def one_gateway_per_node(plan: SitePlan) -> RuleResult:
    gateways = {n.name: n.gateway for n in plan.site.networks if n.gateway}
    for view in plan.nodes:
        routed = [(j, f.network) for j, f in enumerate(view.node.interfaces) if f.network in gateways]
        first = routed[0][1] if routed else ""
        for j, network in routed[1:]:
            if network == first:
                continue  # two interfaces on one network: CL006 and the network's own rules
            yield (*node_loc(plan, view.hostname), "interfaces", j, "network"), (
                f"{view.hostname} gets a default gateway from {first} ({gateways[first]}) and from {network} "
                f"({gateways[network]}): two default routes, and which one wins is up to route metrics"
            ), f"keep one gateway: remove gateway from network {network} or from {first}"


@rule("NET002", Severity.ERROR, "a replication network has no default gateway")
def no_gateway_on_replication(plan: SitePlan) -> RuleResult:
    for i, network in enumerate(plan.site.networks):
        if network.purpose is NetworkPurpose.REPLICATION and network.gateway is not None:
            yield ("networks", i, "gateway"), (
                f"{network.name} is a replication network (a back-to-back DRBD link) but sets gateway "
                f"{network.gateway}: the nodes' default route would go down the replication cable"
            ), f"remove gateway from {network.name}; put it on the management network"
