"""Derived values, computed once from the inventory: what each node is, runs and installs.

Templates and renderers read these views; they never compute addresses, ids or package sets."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from ipaddress import IPv4Address, IPv4Interface

from kickbake.model.catalog import Release, Repo
from kickbake.model.load import Inventory
from kickbake.model.schema import Cluster, DrbdResource, Node, OpenStack, VolumeGroup
from kickbake.model.types import DiskUse, FencingMode, OpenStackRole, Stack


@dataclass(frozen=True)
class InterfaceView:
    name: str
    mac: str
    network: str
    purpose: str
    address: IPv4Address | None
    prefix: int
    netmask: IPv4Address
    gateway: IPv4Address | None
    dns: tuple[IPv4Address, ...]

    @property
    def cidr(self) -> str:
        return str(IPv4Interface(f"{self.address}/{self.prefix}")) if self.address else ""


@dataclass(frozen=True)
class NodeView:
    """One node with everything derived: release, features, packages, services, addresses."""

    node: Node
    fqdn: str
    release: Release
    features: tuple[str, ...]
    packages: tuple[str, ...]
    services: tuple[str, ...]
    interfaces: tuple[InterfaceView, ...]
    repos: tuple[Repo, ...]
    root_disk: str
    keep_disks: tuple[str, ...]  # disks the installer must never touch (DRBD backing, data)
    firewall_ports: tuple[str, ...]
    root_password_hash: str
    ssh_keys: tuple[str, ...]
    openstack: OpenStackRole | None
    missing_features: tuple[str, ...]  # features the release cannot provide (the linter reports them)

    @property
    def hostname(self) -> str:
        return self.node.hostname

    @property
    def sshkey_commands(self) -> tuple[str, ...]:
        """Keys for kickstart `sshkey` lines: anaconda takes one per user (pykickstart warns on a
        second root key), so with several keys they all go to authorized_keys in %post."""
        ks = self.release.kickstart
        return self.ssh_keys if ks is not None and ks.sshkey_command and len(self.ssh_keys) == 1 else ()

    @property
    def post_authorized_keys(self) -> tuple[str, ...]:
        return () if self.sshkey_commands else self.ssh_keys

    @property
    def install_packages(self) -> tuple[str, ...]:
        """What a kickstart installs: the node's packages and what its first-boot agent runs on."""
        return tuple(sorted({*self.packages, *self.release.firstboot.packages}))

    @property
    def has_kickstart(self) -> bool:
        return self.release.kickstart is not None

    @property
    def install_tree(self) -> Repo | None:
        return next((r for r in self.repos if r.install_tree), None)

    @property
    def extra_repos(self) -> tuple[Repo, ...]:
        return tuple(r for r in self.repos if not r.install_tree)

    @property
    def gateway(self) -> IPv4Address | None:
        return next((i.gateway for i in self.interfaces if i.gateway), None)

    def address_on(self, network: str) -> IPv4Address:
        found = next((i.address for i in self.interfaces if i.network == network and i.address), None)
        if found is None:
            raise KeyError(f"{self.hostname} has no address on {network}")
        return found


class SitePlan:
    """The inventory with its derived views. Build once with `plan(inventory)`."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.site = inventory.site

    @cached_property
    def nodes(self) -> tuple[NodeView, ...]:
        return tuple(self._node_view(n) for n in sorted(self.site.nodes, key=lambda n: n.hostname))

    @cached_property
    def _by_hostname(self) -> dict[str, NodeView]:
        return {n.hostname: n for n in self.nodes}

    def node(self, hostname: str) -> NodeView:
        return self._by_hostname[hostname]  # a dict: renderers ask per member, per resource, per file

    def cluster_of(self, hostname: str) -> Cluster | None:
        return next((c for c in self.site.clusters if hostname in c.members), None)

    def drbd_of(self, hostname: str) -> tuple[DrbdResource, ...]:
        return tuple(r for r in self.site.drbd if hostname in r.members)

    def shared_vgs_of(self, hostname: str) -> tuple[VolumeGroup, ...]:
        cluster = self.cluster_of(hostname)
        return tuple(v for v in self.site.volume_groups if v.shared and cluster and v.cluster == cluster.name)

    def nodeids(self, cluster: Cluster) -> dict[str, int]:
        """Explicit ids where given, else 1, 2, ... in member order."""
        return {m: cluster.nodeids.get(m, index) for index, m in enumerate(cluster.members, start=1)}

    def features_of(self, node: Node) -> tuple[str, ...]:
        features = ["base"]
        if self.drbd_of(node.hostname):
            features.append("drbd")
        cluster = self.cluster_of(node.hostname)
        if cluster is not None:
            features.append(f"cluster-{cluster.stack.value}")
            if self.shared_vgs_of(node.hostname):
                features.append(f"shared-lvm-{cluster.stack.value}")
        role = self.openstack_role(node)
        if role is not None:
            features.extend(["openstack-repo", f"openstack-{role.value}"])
        return tuple(features)

    def instances_path(self, roles: tuple[str, ...]) -> str:
        """Nova's instances_path on a node with `roles`: the first role that sets one, else
        openstack.instances_path (its default without an openstack section)."""
        for role in roles:
            own = self.site.roles[role].instances_path
            if own:
                return own
        return (self.site.openstack or OpenStack()).instances_path

    def openstack_role(self, node: Node) -> OpenStackRole | None:
        roles = {self.site.roles[r].openstack for r in node.roles if r in self.site.roles} - {None}
        if OpenStackRole.CONTROLLER in roles:
            return OpenStackRole.CONTROLLER
        return OpenStackRole.COMPUTE if roles else None

    def _node_view(self, node: Node) -> NodeView:
        site, inv = self.site, self.inventory
        release = inv.releases[site.release_of(node)]
        features = self.features_of(node)
        # openstack-repo is optional: only releases whose OpenStack needs a repo package list it
        missing = tuple(f for f in features if f not in release.packages and f != "openstack-repo")
        packages = {p for f in features for p in release.packages.get(f, ())}
        services = {s for f in features for s in release.services.get(f, ())}
        for role in node.roles:
            packages.update(site.roles[role].packages)
            services.update(site.roles[role].services)
        nets = {n.name: n for n in site.networks}
        interfaces = tuple(
            InterfaceView(
                name=i.name,
                mac=i.mac,
                network=i.network,
                purpose=nets[i.network].purpose.value,
                address=i.address,
                prefix=nets[i.network].cidr.prefixlen,
                netmask=nets[i.network].cidr.netmask,
                gateway=nets[i.network].gateway,
                dns=nets[i.network].dns,
            )
            for i in node.interfaces
        )
        kinds = {"deb"} if release.family == "debian" else {"rpm"}
        repos = tuple(inv.repos[r] for r in site.repos if inv.repos[r].kind in kinds)
        root = next(d.name for d in node.disks if d.use is DiskUse.ROOT)
        keep = tuple(sorted(d.name for d in node.disks if d.use is not DiskUse.ROOT))
        return NodeView(
            node=node,
            fqdn=f"{node.hostname}.{site.domain}",
            release=release,
            features=features,
            packages=tuple(sorted(packages)),
            services=tuple(sorted(services)),
            interfaces=interfaces,
            repos=repos,
            root_disk=root,
            keep_disks=keep,
            firewall_ports=self._firewall_ports(node),
            root_password_hash=node.root_password_hash or site.root_password_hash,
            ssh_keys=tuple(dict.fromkeys((*site.ssh_keys, *node.ssh_keys))),  # once each, in order
            openstack=self.openstack_role(node),
            missing_features=missing,
        )

    def _firewall_ports(self, node: Node) -> tuple[str, ...]:
        ports = {f"{r.port}:tcp" for r in self.drbd_of(node.hostname)}
        cluster = self.cluster_of(node.hostname)
        if cluster is not None:
            # corosync/cman use the ring port and the one below it (UDP); dlm talks on 21064/tcp
            ports |= {f"{cluster.port}:udp", f"{cluster.port - 1}:udp", "21064:tcp"}
            if cluster.stack is Stack.CURRENT:
                ports.add("2224:tcp")  # pcsd
        role = self.openstack_role(node)
        if role is OpenStackRole.CONTROLLER:
            # Keystone, Glance, Placement, Nova API and metadata, noVNC, RabbitMQ, the database
            ports |= {"5000:tcp", "9292:tcp", "8778:tcp", "8774:tcp", "8775:tcp", "6080:tcp", "5672:tcp", "3306:tcp"}
        elif role is OpenStackRole.COMPUTE:
            ports.add("16509:tcp")  # libvirt migration
        return tuple(sorted(ports, key=lambda p: (int(p.split(":")[0]), p)))

    @cached_property
    def hosts_entries(self) -> tuple[str, ...]:
        """/etc/hosts lines shared by every node. A cluster member's name resolves to its ring
        address (cman and corosync find the local node that way); other addresses get
        `<host>-<network>` aliases."""
        lines = []
        for view in self.nodes:
            cluster = self.cluster_of(view.hostname)
            statics = [i for i in view.interfaces if i.address]
            if not statics:
                continue
            primary = next((i for i in statics if cluster and i.network == cluster.network), statics[0])
            lines.append(f"{primary.address} {view.fqdn} {view.hostname}")
            lines.extend(f"{i.address} {view.hostname}-{i.network}" for i in statics if i is not primary)
        return tuple(lines)

    @property
    def fencing_is_manual(self) -> bool:
        return any(c.fencing.mode is FencingMode.MANUAL for c in self.site.clusters)


def plan(inventory: Inventory) -> SitePlan:
    return SitePlan(inventory)
