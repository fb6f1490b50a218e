"""Fencing rules: shared storage without working fencing corrupts data.

Sources: fenced(8) and fence_ack_manual(8) of cluster 3, pacemaker (dlm does not start with
stonith disabled), Red Hat's dlm support policy."""

from __future__ import annotations

from ipaddress import IPv4Address

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import clusters, is_legacy, protects_shared_data
from kickbake.model.plan import SitePlan
from kickbake.model.types import FencingMode

# agents that reach a management controller or PDU over the network and need its address
_NETWORK_AGENTS = ("fence_ipmilan", "fence_redfish", "fence_ilo", "fence_idrac", "fence_drac5", "fence_apc",
                   "fence_imm", "fence_ipmilanplus")


@rule("FEN001", Severity.WARNING, "manual fencing is for labs only")
def manual_fencing(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.fencing.mode is FencingMode.MANUAL:
            how = "fence_ack_manual <node>" if is_legacy(cluster) else "stonith_admin --confirm <node>"
            yield ("clusters", i, "fencing", "mode"), (
                f"{cluster.name} has no fence device: after a failure everything on shared storage "
                f"blocks until an operator runs {how}"
            ), "lab only: for production use mode: device with one device per member"


@rule("FEN002", Severity.ERROR, "dlm, shared VGs and dual-primary DRBD need fencing")
def shared_data_needs_fencing(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        reasons = protects_shared_data(plan, cluster)
        if cluster.fencing.mode is FencingMode.DISABLED and reasons:
            yield ("clusters", i, "fencing", "mode"), (
                f"fencing disabled on {cluster.name}, which runs {', '.join(reasons)}: dlm will not "
                "start, and a hung member could keep writing"
            ), "use mode: device (or mode: manual in a lab)"


@rule("FEN003", Severity.WARNING, "fencing is not disabled")
def fencing_disabled(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.fencing.mode is FencingMode.DISABLED and not protects_shared_data(plan, cluster):
            yield ("clusters", i, "fencing", "mode"), (
                f"fencing disabled on {cluster.name}: a member that hangs is never removed"
            ), "use mode: device"


@rule("FEN004", Severity.WARNING, "fence devices are only used with mode: device")
def devices_ignored(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        if cluster.fencing.mode is not FencingMode.DEVICE and cluster.fencing.devices:
            yield ("clusters", i, "fencing", "devices"), (
                f"mode is {cluster.fencing.mode.value}, so these fence devices are ignored"
            ), "set mode: device, or remove the devices"


@rule("FEN005", Severity.ERROR, "there is no fence_manual agent")
def no_fence_manual(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        for j, device in enumerate(cluster.fencing.devices):
            if device.agent == "fence_manual":
                yield ("clusters", i, "fencing", "devices", j, "agent"), (
                    "fence_manual does not exist since cluster 3 (a node without fence devices is its "
                    "replacement)"
                ), "use mode: manual (lab only) and no devices, or a real agent"


@rule("FEN006", Severity.ERROR, "a network fence agent has the address of what it talks to")
def network_agent_address(plan: SitePlan) -> RuleResult:
    for i, cluster in clusters(plan):
        for j, device in enumerate(cluster.fencing.devices):
            if device.agent in _NETWORK_AGENTS and not ({"ip", "ipaddr"} & set(device.params)):
                yield ("clusters", i, "fencing", "devices", j, "params"), (
                    f"{device.agent} for {device.node} has no ip: it cannot reach the management controller"
                ), "add params: {ip: <BMC address>, username: ...}"


@rule("FEN007", Severity.ERROR, "a fence device address is not a node's own address")
def fence_address_not_node(plan: SitePlan) -> RuleResult:
    owners = {str(f.address): n.hostname for n in plan.site.nodes for f in n.interfaces if f.address}
    for i, cluster in clusters(plan):
        for j, device in enumerate(cluster.fencing.devices):
            address = device.params.get("ip") or device.params.get("ipaddr") or ""
            owner = owners.get(_normal(address))
            if owner is not None:
                yield ("clusters", i, "fencing", "devices", j, "params"), (
                    f"{address} is an address of {owner} itself, not of its management controller: "
                    "a hung node does not answer there"
                ), "give the BMC/iLO/iDRAC address of the node"


def _normal(address: str) -> str:
    try:
        return str(IPv4Address(address))
    except ValueError:
        return address
