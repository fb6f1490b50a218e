"""DRBD rules about layout: what must be unique per host (drbdadm's check_uniq), which network
carries replication, and which DRBD versions can talk to each other.

Checked against drbdadm 9.22 (`dump all` with the 8.4 and the 9 parser): a shared minor and a
shared address:port are refused there too (rc 10, 'conflicting use of device-minor' / 'of IP');
a backing disk used by two resources is NOT caught by drbdadm, only here (DRBD012), and neither
parser checks a minor against the module's limit (DRBD019: /dev/drbd1048576 dumps with rc 0)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import (
    SERVICE_TCP_PORTS,
    address_on,
    by_res_name,
    dialect,
    index,
    known_nodes,
    minor,
    node_loc,
    node_view,
    releases_of,
    resources,
    volume_groups,
)
from kickbake.model.clusterview import BY_RES_NAME
from kickbake.model.plan import SitePlan
from kickbake.model.schema import DrbdResource
from kickbake.model.types import DiskUse, NetworkPurpose


def _clashes(
    plan: SitePlan, key: Callable[[str, DrbdResource], object]
) -> Iterator[tuple[str, int, DrbdResource, DrbdResource]]:
    """(member, index, resource, earlier resource) where both share a per-host key on that member."""
    seen: dict[tuple[str, object], DrbdResource] = {}
    for r, res in resources(plan):
        for member in known_nodes(plan, res.members):
            value = key(member, res)
            if value is None:
                continue
            if (member, value) in seen:
                yield member, r, res, seen[(member, value)]
            else:
                seen[(member, value)] = res


@rule("DRBD010", Severity.ERROR, "a DRBD minor (device) is used once per host")
def unique_minor(plan: SitePlan) -> RuleResult:
    for member, r, res, other in _clashes(plan, lambda _, x: minor(x)):
        yield ("drbd", r, "device"), (
            f"{res.device} of {res.name} is also the device of {other.name} on {member}"
        ), "give each resource its own /dev/drbdN"


@rule("DRBD011", Severity.ERROR, "a DRBD address:port is used once per host")
def unique_address_port(plan: SitePlan) -> RuleResult:
    def endpoint(member: str, res: DrbdResource) -> object:
        address = address_on(plan, member, res.network)
        return (address, res.port) if address else None

    for member, r, res, other in _clashes(plan, endpoint):
        address = address_on(plan, member, res.network)
        yield ("drbd", r, "port"), (
            f"{address}:{res.port} on {member} is also the endpoint of {other.name}"
        ), "give each resource its own port (7788, 7789, ...)"


@rule("DRBD012", Severity.ERROR, "a backing disk belongs to one DRBD resource per host")
def unique_backing_disk(plan: SitePlan) -> RuleResult:
    for member, r, res, other in _clashes(plan, lambda _, x: x.disk):
        yield ("drbd", r, "disk"), (
            f"{res.disk} on {member} already backs {other.name}: both would overwrite each other"
        ), "give each resource its own backing disk"


@rule("DRBD013", Severity.WARNING, "DRBD replicates over a replication network")
def replication_network(plan: SitePlan) -> RuleResult:
    purposes = {n.name: n.purpose for n in plan.site.networks}
    for r, res in resources(plan):
        purpose = purposes.get(res.network)
        if purpose is not None and purpose is not NetworkPurpose.REPLICATION:
            yield ("drbd", r, "network"), (
                f"{res.name}'s peers replicate over {res.network} (purpose {purpose.value}): resync "
                "and every write compete with other traffic"
            ), "put the peers on a network with purpose: replication (a back-to-back link)"


@rule("DRBD014", Severity.ERROR, "DRBD 8 resources have exactly two members")
def drbd8_two_members(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        eights = sorted(h for h, rel in releases_of(plan, res.members).items() if dialect(rel) != "9")
        if len(res.members) > 2 and eights:
            yield ("drbd", r, "members"), (
                f"{res.name} has {len(res.members)} members but {', '.join(eights)} run DRBD 8, "
                "which replicates between exactly two hosts"
            ), "use two members, or releases with DRBD 9"


@rule("DRBD015", Severity.ERROR, "the members of a resource speak the same DRBD version")
def same_dialect(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        dialects = {h: dialect(rel) for h, rel in releases_of(plan, res.members).items()}
        majors = {d.split(".")[0] for d in dialects.values()}
        if len(majors) > 1:
            listed = ", ".join(f"{h}: {d}" for h, d in sorted(dialects.items()))
            yield ("drbd", r, "members"), (
                f"members of {res.name} run different DRBD versions ({listed}): "
                "DRBD 8 and 9 neither share a config syntax nor connect"
            ), "give the members releases with the same DRBD major version"


@rule("DRBD016", Severity.ERROR, "a DRBD port is not a port another service listens on")
def port_not_taken(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        service = SERVICE_TCP_PORTS.get(res.port)
        if service is not None:
            yield ("drbd", r, "port"), (
                f"TCP port {res.port} of {res.name} is where {service} listens"
            ), "use a port from 7788 up"


@rule("DRBD017", Severity.WARNING, "every disk marked use: drbd backs a DRBD resource")
def drbd_disk_used(plan: SitePlan) -> RuleResult:
    for view in plan.nodes:
        used = {r.disk for _, r in index(plan).by_member.get(view.hostname, ())}
        for j, disk in enumerate(view.node.disks):
            if disk.use is DiskUse.DRBD and f"/dev/{disk.name}" not in used:
                yield (*node_loc(plan, view.hostname), "disks", j, "use"), (
                    f"/dev/{disk.name} on {view.hostname} is marked use: drbd but backs no DRBD resource"
                ), "add the node to a DRBD resource on this disk, or mark it use: data or unused"


# 8.4 and 9 allocate minors as the kernel's dev_t allows (20 minor bits; drbd.conf(5) 8.4
# minor-count "from 1 to 1048575" is only a sizing hint there)
_MINOR_BITS_LIMIT = 1 << 20


def _minor_limit(drbd: str, resources_on_host: int) -> tuple[int, str]:
    """(first minor that does not exist, why). DRBD 8.3 sizes its minor table once, at module
    load: minor-count, by default 11 more than the resources configured but at least 32, at most
    255 (drbd.conf(5) 8.3 minor-count); kickbake renders no minor-count."""
    if drbd == "8.3":
        count = min(255, max(32, resources_on_host + 11))
        return count, (f"DRBD 8.3 loads with minor_count {count} (11 more than the host's "
                       f"{resources_on_host} resource(s), at least 32, at most 255)")
    return _MINOR_BITS_LIMIT, f"DRBD {drbd} minors stop at {_MINOR_BITS_LIMIT - 1} (20 minor bits)"


@rule("DRBD019", Severity.ERROR, "a DRBD minor is within the module's limit")
def minor_in_range(plan: SitePlan) -> RuleResult:
    for r, res in resources(plan):
        number = minor(res)
        for member in known_nodes(plan, res.members):
            limit, why = _minor_limit(dialect(node_view(plan, member).release), len(index(plan).by_member[member]))
            if number is not None and number >= limit:
                yield ("drbd", r, "device"), (
                    f"{res.device} of {res.name} on {member}: {why}, so the device cannot be created"
                ), f"use a minor below {limit} (/dev/drbd0, /dev/drbd1, ...)"
                break


@rule("DRBD021", Severity.ERROR, "a PV named /dev/drbd/by-res/... is the name udev creates")
def by_res_name_exists(plan: SitePlan) -> RuleResult:
    """udev names a DRBD device /dev/drbd/by-res/<res> when the resource has one implicit volume
    (8.3, which has no volumes) and /dev/drbd/by-res/<res>/<volume> with explicit volumes or
    udev-always-use-vnr (drbd.conf(5) 9 `device` and `udev-always-use-vnr`; drbd-utils'
    drbd.rules). kickbake renders 8.4 with `volume 0` and 9 with udev-always-use-vnr."""
    for i, vg in volume_groups(plan):
        for j, device in enumerate(vg.devices):
            named = by_res_name(device)
            if named is None:
                continue
            found = index(plan).by_name.get(named[0])
            if found is None:
                yield ("volume_groups", i, "devices", j), (
                    f"{device} names DRBD resource {named[0]}, which this site does not define"
                ), "name a resource under drbd, or write its /dev/drbdN"
                continue
            res = found[1]
            members = known_nodes(plan, res.members)
            if not members:
                continue
            expected = BY_RES_NAME[dialect(node_view(plan, members[0]).release)].format(res=res.name)
            if device != expected:
                yield ("volume_groups", i, "devices", j), (
                    f"udev names {res.device} of {res.name} {expected} on "
                    f"DRBD {dialect(node_view(plan, members[0]).release)}: {device} never exists"
                ), f"write {expected} or {res.device}"
