"""Fencing rules: shared storage without working fencing corrupts data.

Sources: fenced(8) and fence_ack_manual(8) of cluster 3, pacemaker (dlm does not start with
stonith disabled), Red Hat's dlm support policy, Pacemaker Explained (pcmk_delay_base), the
fence-agents tree of each release's version (which agents exist)."""

from __future__ import annotations

import difflib
from ipaddress import IPv4Address

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import clusters, is_legacy, protects_shared_data, releases_of
from kickbake.model.plan import SitePlan
from kickbake.model.schema import FenceDevice
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


@rule("FEN008", Severity.ERROR, "a fence agent exists on the members' release")
def agent_exists(plan: SitePlan) -> RuleResult:
    """The agent is one the release's fence-agents installs (releases/*.yml `fence_agents`: the
    upstream ClusterLabs/fence-agents tag's agents, Debian's from its package's file list)."""
    for i, cluster in clusters(plan):
        releases = releases_of(plan, cluster.members)
        for j, device in enumerate(cluster.fencing.devices):
            for release in sorted({r.name: r for r in releases.values()}.values(), key=lambda r: r.name):
                agents = release.fence_agents
                if agents and device.agent not in agents:
                    close = difflib.get_close_matches(device.agent, agents, n=1, cutoff=0.85)
                    yield ("clusters", i, "fencing", "devices", j, "agent"), (
                        f"{device.agent} is not an agent of {release.pretty}'s fence-agents: "
                        f"fencing {device.node} would fail with 'agent not found'"
                    ), (f"did you mean {close[0]}?" if close else
                        f"use an agent {release.pretty} ships, e.g. fence_ipmilan")
                    break


_DELAY_PARAMS = ("delay", "pcmk_delay_base", "pcmk_delay_max")


def _delay(device: FenceDevice) -> str | None:
    if device.delay is not None:
        return str(device.delay)
    return next((device.params[p] for p in _DELAY_PARAMS if p in device.params), None)


@rule("FEN009", Severity.ERROR, "a two-node cluster's fence devices do not fire at once")
def two_node_fence_delay(plan: SitePlan) -> RuleResult:
    """After a cut of the ring link each of two nodes still has quorum (two_node) and fences the
    other: with no delay both can die. Pacemaker Explained, fencing chapter (pcmk_delay_base,
    pacemaker 1.1.17+): "in two-node clusters to ensure that the nodes don't fence each other ...
    The node that is fenced with the shorter delay" loses the race; fence-agents' common `delay`
    option ("Wait X seconds before fencing is started", fencing.py and fence_ipmilan since 3.1)."""
    for i, cluster in clusters(plan):
        devices = cluster.fencing.devices
        if cluster.fencing.mode is not FencingMode.DEVICE or len(cluster.members) != 2 or not devices:
            continue
        delays = {d.node: _delay(d) for d in devices}
        if len(set(delays.values())) > 1:
            continue
        why = "no delay" if None in delays.values() else f"the same delay ({next(iter(delays.values()))})"
        yield ("clusters", i, "fencing", "devices"), (
            f"the fence devices of {cluster.name}'s two members have {why}: after a link cut each "
            "node fences the other at the same moment, and both can go down"
        ), f"set delay: 15 on one device, e.g. {devices[0].node}'s: the node it fences survives a link cut"
