"""Checks that need the whole inventory: names that must exist, values that must be unique,
addresses that must sit in their network. Cluster semantics live in kickbake.lint, not here."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from kickbake.errors import Problem
from kickbake.model.types import DiskUse, FencingMode, shown

if TYPE_CHECKING:
    from kickbake.model.load import Inventory

Loc = tuple[str | int, ...]
Reference = tuple[Loc, str, str]  # (where, what is wrong, what to change): one reference finding
FQDN_MAX = 253
UNKNOWN_LISTED = 12  # names a "not defined" hint lists
DM_NAME_MAX = 127  # device-mapper's DM_NAME_LEN (128) with its NUL


def check_references(inv: Inventory) -> list[Problem]:
    problems: list[Problem] = []
    for check in (_networks, _nodes, _releases, _repos, _clusters, _drbd, _volume_groups, _images, _pxe):
        problems.extend(inv.problem(loc, msg, hint) for loc, msg, hint in check(inv))
    return problems


def _duplicates(items: Iterable[tuple[Loc, object]], what: str) -> Iterable[tuple[Loc, str, str]]:
    seen: dict[object, Loc] = {}
    for loc, value in items:
        if value in seen:
            yield loc, f"duplicate {what} {str(value)!r}", f"also used at {_dot(seen[value])}; make each unique"
        else:
            seen[value] = loc


def _dot(loc: Loc) -> str:
    from kickbake.model.yamlsource import dotted

    return dotted(loc)


def _unknown(loc: Loc, what: str, name: str, known: Iterable[str]) -> tuple[Loc, str, str]:
    names = sorted(known)
    if not names:
        return loc, f"{what} {name!r} is not defined", "define it first"
    listing = ", ".join(names[:UNKNOWN_LISTED]) + (", ..." if len(names) > UNKNOWN_LISTED else "")
    close = difflib.get_close_matches(name, names, n=1)
    hint = f"did you mean {close[0]!r}? defined: {listing}" if close else f"use one of: {listing}"
    return loc, f"{what} {name!r} is not defined", hint


def _networks(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    yield from _duplicates(((("networks", i, "name"), n.name) for i, n in enumerate(site.networks)), "network")
    for i, net in enumerate(site.networks):
        if net.gateway and net.gateway not in net.cidr:
            yield (
                ("networks", i, "gateway"),
                f"{net.gateway} is outside {net.cidr}",
                "put the gateway inside the network",
            )


def _nodes(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    nets = {n.name: n for n in site.networks}
    yield from _duplicates(((("nodes", i, "hostname"), n.hostname) for i, n in enumerate(site.nodes)), "hostname")
    macs, addrs = [], []
    for i, node in enumerate(site.nodes):
        fqdn = f"{node.hostname}.{site.domain}"
        if len(fqdn) > FQDN_MAX:
            yield ("nodes", i, "hostname"), f"{shown(fqdn)} is longer than {FQDN_MAX} characters", (
                "shorten the host name or the site's domain (RFC 1123: a name is at most 253 characters)"
            )
        yield from _duplicates(
            ((("nodes", i, "interfaces", j, "name"), f.name) for j, f in enumerate(node.interfaces)), "interface"
        )
        yield from _duplicates(((("nodes", i, "disks", j, "name"), d.name) for j, d in enumerate(node.disks)), "disk")
        roots = [d for d in node.disks if d.use is DiskUse.ROOT]
        if len(roots) != 1:
            yield ("nodes", i, "disks"), f"{len(roots)} disks have use: root", "mark exactly one disk use: root"
        for role_index, role in enumerate(node.roles):
            if role not in site.roles:
                yield _unknown(("nodes", i, "roles", role_index), "role", role, site.roles)
        for j, iface in enumerate(node.interfaces):
            loc = ("nodes", i, "interfaces", j)
            macs.append(((*loc, "mac"), iface.mac))
            net = nets.get(iface.network)
            if net is None:
                yield _unknown((*loc, "network"), "network", iface.network, nets)
                continue
            if iface.address is None:
                continue
            addrs.append(((*loc, "address"), iface.address))
            if iface.address not in net.cidr:
                yield (
                    (*loc, "address"),
                    f"{iface.address} is outside {net.name} ({net.cidr})",
                    (f"pick an address inside {net.cidr}"),
                )
            elif iface.address in (net.cidr.network_address, net.cidr.broadcast_address):
                yield (
                    (*loc, "address"),
                    f"{iface.address} is the network or broadcast address of {net.cidr}",
                    ("pick a host address"),
                )
    yield from _duplicates(macs, "MAC address")
    yield from _duplicates(addrs, "address")


def _releases(inv: Inventory) -> Iterator[Reference]:
    site, known = inv.site, inv.releases
    from pykickstart.version import versionMap

    if site.release not in known:
        yield _unknown(("release",), "release", site.release, known)
    for name, role in site.roles.items():
        if role.release and role.release not in known:
            yield _unknown(("roles", name, "release"), "release", role.release, known)
    for i, node in enumerate(site.nodes):
        if node.release and node.release not in known:
            yield _unknown(("nodes", i, "release"), "release", node.release, known)
        release = known.get(site.release_of(node))
        if release and release.kickstart and release.kickstart.handler not in versionMap:
            yield (
                ("nodes", i, "hostname"),
                (
                    f"release {release.name} needs kickstart handler {release.kickstart.handler}, "
                    "which this pykickstart does not know"
                ),
                "upgrade pykickstart or pick another release",
            )


def _repos(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    yield from _duplicates(((("repos", i), name) for i, name in enumerate(site.repos)), "repo")
    for i, name in enumerate(site.repos):
        repo = inv.repos.get(name)
        if repo is None:
            yield _unknown(("repos", i), "repo", name, inv.repos)
        elif not repo.gpgcheck and not site.insecure:
            yield (
                ("repos", i),
                f"repo {name!r} has gpgcheck off",
                ("give it gpgcheck: true and a gpgkey, or set insecure: true in the site to accept the risk"),
            )


def _members(inv: Inventory, loc: Loc, members: tuple[str, ...]) -> Iterator[Reference]:
    hostnames = {n.hostname for n in inv.site.nodes}
    yield from _duplicates((((*loc, j), m) for j, m in enumerate(members)), "member")
    for j, member in enumerate(members):
        if member not in hostnames:
            unlisted = hostnames - set(members)  # a node already listed is not what was meant
            if unlisted:
                yield _unknown((*loc, j), "node", member, unlisted)
            else:
                yield (*loc, j), f"node {member!r} is not defined", (
                    "every node is listed already: remove this member, or define the node under nodes")


def _has_address_on(inv: Inventory, hostname: str, network: str) -> bool:
    node = next((n for n in inv.site.nodes if n.hostname == hostname), None)
    return node is not None and any(f.network == network and f.address for f in node.interfaces)


def _member_addresses(inv: Inventory, loc: Loc, members: tuple[str, ...], network: str, what: str,
                      network_loc: Loc) -> Iterable[tuple[Loc, str, str]]:
    """Members without a static address on `network`, diagnosed so the first message names the real
    mistake: an unknown or repeated member is reported by _members alone; a network none of the
    members is on is the chosen network's fault; a member whose interface sits on an undefined
    network is that interface's; a DHCP interface wants its address; a member that is alone off the
    network may be the wrong node (the nodes that are on it are named)."""
    site = inv.site
    nodes = {n.hostname: n for n in site.nodes}
    nets = {n.name for n in site.networks}
    known = [m for j, m in enumerate(members) if m in nodes and m not in members[:j]]
    missing = [m for m in known if not _has_address_on(inv, m, network)]
    if not missing:
        return
    if len(missing) == len(known) and len(known) > 1:
        common = set.intersection(*({f.network for f in nodes[m].interfaces if f.address} for m in known))
        instead = f"set network to one they are all on: {' or '.join(sorted(common))}" if common else (
            f"give every member an interface with a static address on {network}")
        yield network_loc, f"none of the members of {what} has a static address on {network}", instead
        return
    for m in missing:
        j = members.index(m)
        node = nodes[m]
        if any(f.network not in nets for f in node.interfaces):
            continue  # its interface's undefined network is reported where it is written
        dhcp = next((f for f in node.interfaces if f.network == network), None)
        if dhcp is not None:
            yield (*loc, j), f"{m}'s {dhcp.name} on {network} has no static address (DHCP)", (
                f"write address: for {dhcp.name}; {what} needs a fixed address on {network}")
            continue
        others = sorted(n for n in nodes if n not in members and _has_address_on(inv, n, network))
        instead = f"if you meant {' or '.join(others)}, list it instead of {m}; otherwise " if others else (
            f"if {m} is not meant to be in {what}, remove it; otherwise ")
        yield (*loc, j), f"{m} is not on {network}, the network of {what}", (
            f"{instead}give {m} an interface with an address on {network}")


def _clusters(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    nets = {n.name for n in site.networks}
    yield from _duplicates(((("clusters", i, "name"), c.name) for i, c in enumerate(site.clusters)), "cluster")
    for i, cluster in enumerate(site.clusters):
        yield from _members(inv, ("clusters", i, "members"), cluster.members)
        if cluster.network not in nets:
            yield _unknown(("clusters", i, "network"), "network", cluster.network, nets)
        else:
            yield from _member_addresses(inv, ("clusters", i, "members"), cluster.members, cluster.network,
                                         f"cluster {cluster.name}", ("clusters", i, "network"))
        for name in cluster.nodeids:
            if name not in cluster.members:
                yield ("clusters", i, "nodeids", name), f"{name!r} is not a member", "list node ids of members only"
        fencing = cluster.fencing
        for j, device in enumerate(fencing.devices):
            if device.node not in cluster.members:
                yield ("clusters", i, "fencing", "devices", j, "node"), f"{device.node!r} is not a member", ""
        if fencing.mode is FencingMode.DEVICE:
            fenced = {d.node for d in fencing.devices}
            for member in cluster.members:
                if member not in fenced:
                    yield (
                        ("clusters", i, "fencing", "devices"),
                        f"no fence device for {member}",
                        ("add one device per member, or use mode: manual in a lab"),
                    )


def _drbd(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    nets = {n.name for n in site.networks}
    yield from _duplicates(((("drbd", i, "name"), r.name) for i, r in enumerate(site.drbd)), "DRBD resource")
    for i, res in enumerate(site.drbd):
        yield from _members(inv, ("drbd", i, "members"), res.members)
        if not res.device.startswith("/dev/drbd") or not res.device[len("/dev/drbd") :].isdigit():
            yield ("drbd", i, "device"), f"{res.device!r} is not a DRBD device", "write /dev/drbdN, e.g. /dev/drbd0"
        for field in ("network", "fence_peer_network"):
            value = getattr(res, field)
            if value is not None and value not in nets:
                yield _unknown(("drbd", i, field), "network", value, nets)
        if res.network not in nets:
            continue
        yield from _member_addresses(inv, ("drbd", i, "members"), res.members, res.network,
                                     f"DRBD resource {res.name}", ("drbd", i, "network"))
        for member in res.members:
            node = next((n for n in site.nodes if n.hostname == member), None)
            if node is None:
                continue
            disks = {f"/dev/{d.name}": d for d in node.disks}
            disk = disks.get(res.disk)
            if disk is None:
                yield (
                    ("drbd", i, "disk"),
                    f"{member} has no disk {res.disk}",
                    (f"add it to {member}'s disks with use: drbd, or use one of {', '.join(sorted(disks))}"),
                )
            elif disk.use is not DiskUse.DRBD:
                yield (
                    ("drbd", i, "disk"),
                    f"{res.disk} on {member} has use: {disk.use.value}",
                    ("a DRBD backing disk must be marked use: drbd"),
                )


def _volume_groups(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    clusters = {c.name for c in site.clusters}
    yield from _duplicates(((("volume_groups", i, "name"), v.name) for i, v in enumerate(site.volume_groups)), "VG")
    for i, vg in enumerate(site.volume_groups):
        if vg.cluster is not None and vg.cluster not in clusters:
            yield _unknown(("volume_groups", i, "cluster"), "cluster", vg.cluster, clusters)
        for j, lv in enumerate(vg.logical_volumes):
            mapper = f"{vg.name.replace('-', '--')}-{lv.name.replace('-', '--')}"  # /dev/mapper/<this>
            if len(mapper) > DM_NAME_MAX:
                yield ("volume_groups", i, "logical_volumes", j, "name"), (
                    f"the device-mapper name {shown(mapper)} is longer than {DM_NAME_MAX} characters"
                ), "shorten the VG or LV name ('-' counts twice)"
        if vg.shared and vg.cluster is None:
            yield (
                ("volume_groups", i, "cluster"),
                "a shared VG needs the cluster whose locking protects it",
                ("name the cluster"),
            )
    if site.openstack and site.openstack.images_volume_group:
        names = {v.name for v in site.volume_groups}
        if site.openstack.images_volume_group not in names:
            yield _unknown(
                ("openstack", "images_volume_group"), "volume group", site.openstack.images_volume_group, names
            )


def _images(inv: Inventory) -> Iterator[Reference]:
    site = inv.site
    yield from _duplicates(((("images", i, "name"), m.name) for i, m in enumerate(site.images)), "image")
    for i, image in enumerate(site.images):
        for j, role in enumerate(image.roles):
            if role not in site.roles:
                yield _unknown(("images", i, "roles", j), "role", role, site.roles)
        releases = {site.release_of(n) for n in site.nodes if set(n.roles) & set(image.roles)}
        if len(releases) > 1:
            yield (
                ("images", i, "roles"),
                f"nodes of this image target several releases: {', '.join(sorted(releases))}",
                ("one image has one release; split the image"),
            )


def _pxe(inv: Inventory) -> Iterator[Reference]:
    pxe = inv.site.pxe
    if pxe is None:
        return
    nets = {n.name: n for n in inv.site.networks}
    net = nets.get(pxe.network)
    if net is None:
        yield _unknown(("pxe", "network"), "network", pxe.network, nets)
    elif pxe.server not in net.cidr:
        yield (
            ("pxe", "server"),
            f"{pxe.server} is outside {net.name} ({net.cidr})",
            "put the boot server on that network",
        )
