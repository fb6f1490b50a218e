"""The site inventory as typed, frozen objects. Every field is documented here; docs/inventory.md
and docs/inventory.schema.json are generated from these classes (`./kb schema`)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network
from typing import Any, Literal

from pydantic import Field

from kickbake.model.types import (
    Bake,
    CatalogName,
    ClusterName,
    Console,
    DevicePath,
    DhcpMode,
    DiskName,
    DiskUse,
    DomainName,
    DrbdFencing,
    DrbdResourceName,
    FenceAgent,
    FenceParameter,
    FenceValue,
    FencingMode,
    Frozen,
    Hostname,
    ImageSource,
    ImageType,
    InterfaceName,
    KernelArgument,
    LvmFilter,
    LvmName,
    MacAddress,
    NetworkPurpose,
    OpenStackRole,
    PackageName,
    PasswordHash,
    PathName,
    ServiceName,
    Sha256,
    Size,
    SpdxId,
    SshKey,
    Stack,
    Text,
    TimeZone,
)


class Network(Frozen):
    """An IPv4 network the nodes sit on."""

    name: Hostname = Field(description="Name the interfaces refer to, e.g. `mgmt` or `replication`.")
    cidr: IPv4Network = Field(description="Network in CIDR form, e.g. `10.0.0.0/24`.")
    gateway: IPv4Address | None = Field(None, description="Default gateway; only one network should set it.")
    dns: tuple[IPv4Address, ...] = Field((), description="Name servers handed to nodes on this network.")
    purpose: NetworkPurpose = Field(
        NetworkPurpose.MANAGEMENT,
        description="`management`, `replication` (DRBD, often a back-to-back link) or `cluster` (ring only).",
    )


class Interface(Frozen):
    """One network interface of a node."""

    name: InterfaceName = Field(description="Kernel name of the interface, e.g. `eth0`.")
    mac: MacAddress = Field(description="MAC address, `aa:bb:cc:dd:ee:ff`; PXE and first boot match on it.")
    network: Hostname = Field(description="Name of the network (see `networks`) this interface is on.")
    address: IPv4Address | None = Field(None, description="Static address; omitted means DHCP.")


class Disk(Frozen):
    """A disk of a node and what it is for."""

    name: DiskName = Field(description="Kernel name without /dev, e.g. `vda` or `sdb`.")
    use: DiskUse = Field(description="`root` (the OS), `drbd` (a DRBD backing disk), `data` or `unused`.")
    size_gib: int | None = Field(None, gt=0, description="Size in GiB, for the root partition layout.")


class Node(Frozen):
    """One machine of the site."""

    hostname: Hostname = Field(description="Short host name; also the DRBD `on` name and cluster node name.")
    roles: tuple[Hostname, ...] = Field(description="Names of roles (see `roles`) this node has.")
    release: CatalogName | None = Field(None, description="Target release; overrides the roles' and the site's.")
    interfaces: tuple[Interface, ...] = Field(min_length=1, description="Network interfaces.")
    disks: tuple[Disk, ...] = Field(min_length=1, description="Disks; exactly one with `use: root`.")
    root_password_hash: PasswordHash | None = Field(
        None, description="crypt(3) hash for root (`openssl passwd -6`); overrides the site's."
    )
    ssh_keys: tuple[SshKey, ...] = Field((), description="Extra authorized keys for root.")


class Role(Frozen):
    """What a kind of node runs."""

    release: CatalogName | None = Field(None, description="Target release for nodes of this role.")
    packages: tuple[PackageName, ...] = Field((), description="Extra packages beyond those the role implies.")
    openstack: OpenStackRole | None = Field(None, description="`controller` or `compute` for OpenStack Nova.")
    instances_path: PathName | None = Field(
        None, description="Nova `instances_path` for computes of this role (default from `openstack`)."
    )
    services: tuple[ServiceName, ...] = Field((), description="Extra systemd services to enable.")


class FenceDevice(Frozen):
    """A fence device that can power off one node."""

    node: Hostname = Field(description="The node this device fences.")
    agent: FenceAgent = Field(description="Fence agent, e.g. `fence_ipmilan`.")
    params: dict[FenceParameter, FenceValue] = Field(
        default_factory=dict,
        description="Agent parameters such as `ip` and `username`; never a password (`passwd_script` is fine).",
    )
    delay: int | None = Field(
        None, ge=1, le=300,
        description="Seconds this device waits before fencing its node (pacemaker `pcmk_delay_base`, cman "
        "`delay`). In a two-node cluster give it to one device: after a link cut its node wins the fence race.",
    )


class Fencing(Frozen):
    """How the cluster fences a failed node."""

    mode: FencingMode = Field(description="`device` (production), `manual` (lab only) or `disabled`.")
    devices: tuple[FenceDevice, ...] = Field((), description="With `mode: device`, one device per member.")
    post_join_delay: int = Field(30, ge=0, description="cman fence_daemon post_join_delay in seconds.")


class Quorum(Frozen):
    """Quorum settings; leave unset to get the right values for the member count and stack."""

    two_node: bool | None = Field(None, description="Two-node mode; derived from the member count when unset.")
    expected_votes: int | None = Field(
        None, ge=1, description="Expected votes; cman two-node needs 1, corosync 3 needs 2."
    )
    wait_for_all: bool | None = Field(None, description="corosync 3 votequorum wait_for_all.")


class Cluster(Frozen):
    """A cluster of nodes sharing storage."""

    name: ClusterName = Field(description="Cluster name, at most 16 characters (cman and dlm use it).")
    stack: Stack = Field(description="`legacy` (cman, clvmd, corosync 1.x) or `current` (corosync 3, pacemaker).")
    members: tuple[Hostname, ...] = Field(min_length=1, description="Host names of the member nodes.")
    network: Hostname = Field(description="Network the cluster ring runs on.")
    fencing: Fencing = Field(description="Fencing of failed members.")
    crypto: bool = Field(True, description="Encrypt and authenticate ring traffic (secauth / crypto_cipher).")
    transport: Literal["knet", "udpu", "udp"] = Field("knet", description="corosync 3 transport.")
    quorum: Quorum = Field(default_factory=Quorum, description="Quorum overrides.")
    nodeids: dict[Hostname, int] = Field(
        default_factory=dict, description="Explicit node ids by host name; default 1, 2, ... in member order."
    )
    port: int = Field(5405, ge=1, le=65535, description="Ring port (cman/corosync mcastport).")
    multicast: IPv4Address | None = Field(None, description="Legacy cman multicast address; default from the name.")


class DrbdResource(Frozen):
    """A replicated DRBD block device."""

    name: DrbdResourceName = Field(description="Resource name, e.g. `r0`.")
    members: tuple[Hostname, ...] = Field(min_length=2, description="Host names of the replicas.")
    disk: DevicePath = Field(description="Backing disk on every member, e.g. `/dev/vdb`.")
    device: DevicePath = Field(description="DRBD device, `/dev/drbdN`; N is the minor.")
    network: Hostname = Field(description="Replication network (each member's address on it is used).")
    port: int = Field(7788, ge=1, le=65535, description="TCP port of the replication link.")
    protocol: Literal["A", "B", "C"] = Field("C", description="Replication protocol; dual-primary needs C.")
    dual_primary: bool = Field(False, description="Both members primary at once (needs cluster locking above).")
    allow_two_primaries: bool | None = Field(None, description="Override; default follows `dual_primary`.")
    become_primary_on_both: bool | None = Field(
        None, description="DRBD 8.x startup option; default follows `dual_primary`."
    )
    fencing: DrbdFencing | None = Field(
        None, description="DRBD fencing policy; default resource-and-stonith for dual-primary, else resource-only."
    )
    fence_peer_handler: PathName | None = Field(None, description="Override the release's fence-peer handler path.")
    fence_peer_network: Hostname | None = Field(
        None, description="Network the fence-peer handler reaches the peer over (should not be the replication link)."
    )
    sync_rate: Size = Field("33M", description="Resync rate.")
    meta_disk: Literal["internal"] = Field("internal", description="Where DRBD metadata lives.")


class Filesystem(Frozen):
    """A filesystem made once on an LV and mounted where `mount` says (on every member for a
    cluster filesystem on a shared VG: GFS2 or OCFS2 over dlm)."""

    type: Literal["gfs2", "ocfs2", "ext4", "xfs"] = Field(description="`gfs2`/`ocfs2` (cluster) or `ext4`/`xfs`.")
    mount: PathName = Field(description="Mount point, e.g. Nova's instances_path `/var/lib/nova/instances`.")
    journals: int | None = Field(None, ge=1, le=64, description="GFS2/OCFS2 journals (node slots); default: "
                                 "the cluster's member count. One per node that mounts it.")
    owner: Hostname | None = Field(None, description="User owning the mount point's root, e.g. `nova`.")

    @property
    def clustered(self) -> bool:
        """A cluster filesystem (dlm locking, mounted on every member at once)."""
        return self.type in ("gfs2", "ocfs2")


class LogicalVolume(Frozen):
    name: LvmName = Field(description="LV name.")
    size: Size = Field(description="LV size, e.g. `10G`.")
    filesystem: Filesystem | None = Field(None, description="Filesystem made on it at first boot and mounted.")


class VolumeGroup(Frozen):
    """An LVM volume group, usually shared on a DRBD device."""

    name: LvmName = Field(description="VG name, e.g. `vg_shared`.")
    devices: tuple[DevicePath, ...] = Field(min_length=1, description="Physical volumes, e.g. `/dev/drbd0`.")
    shared: bool = Field(False, description="Clustered (legacy clvmd) or shared (lvmlockd) VG.")
    cluster: ClusterName | None = Field(None, description="Cluster whose locking protects a shared VG.")
    logical_volumes: tuple[LogicalVolume, ...] = Field((), description="LVs to create at first boot.")


class OpenStack(Frozen):
    """OpenStack Nova settings common to the site."""

    instances_path: PathName = Field("/var/lib/nova/instances", description="Default Nova instances_path.")
    images_type: Literal["default", "qcow2", "raw", "lvm"] = Field("default", description="libvirt images_type.")
    images_volume_group: LvmName | None = Field(None, description="VG for `images_type: lvm`.")
    workers: int = Field(2, ge=1, le=64, description="Worker processes of each API, the conductor and the "
                         "scheduler on the controller (the packages default to 8-16 per API).")


class BaseImage(Frozen):
    """A local cloud image to start from, pinned by checksum."""

    path: ImageSource = Field(description="Path or URL of the base cloud image.")
    sha256: Sha256 = Field(description="Its sha256.")


class Image(Frozen):
    """A node image baked with diskimage-builder."""

    name: Hostname = Field(description="Image name; files are output/<site>/images/<name>.<type>.")
    roles: tuple[Hostname, ...] = Field(min_length=1, description="Roles whose nodes boot this image.")
    bake: Bake = Field(Bake.COMPLETE, description="`base`, `complete` or `full`.")
    types: tuple[ImageType, ...] = Field((ImageType.QCOW2,), description="Output types: qcow2, raw, tar.")
    base: BaseImage | None = Field(None, description="Pinned local cloud image (Fedora/EL) instead of the mirror.")
    size_gib: int = Field(4, gt=0, description="Image size in GiB.")


class Pxe(Frozen):
    """The boot server of the site."""

    server: IPv4Address = Field(description="Address of the boot/HTTP server on the management network.")
    network: Hostname = Field(description="Network the nodes PXE boot on.")
    http_port: int = Field(80, ge=1, le=65535, description="HTTP port serving kickstarts and images.")
    dhcp: DhcpMode = Field(DhcpMode.OWN, description="`own` (hand out addresses) or `proxy` (PXE answers only).")
    console: Console = Field("ttyS0,115200", description="Serial console for installers.")
    kernel_args: tuple[KernelArgument, ...] = Field(
        (), max_length=64, description="Extra installer kernel arguments, one word per item."
    )


class Lvm(Frozen):
    """LVM device filtering; leave unset to get filters derived from the DRBD resources."""

    filter: tuple[LvmFilter, ...] | None = Field(
        None, description='lvm.conf devices/filter, e.g. `["a|^/dev/drbd.*|", "r|.*|"]`; default derived.'
    )
    global_filter: tuple[LvmFilter, ...] | None = Field(
        None, description="lvm.conf devices/global_filter; default rejects the DRBD backing disks."
    )


class Licenses(Frozen):
    """License policy of the site's images."""

    deny: tuple[SpdxId, ...] = Field((), description="SPDX license ids no image may contain.")


class Site(Frozen):
    """A site inventory: one file in sites/."""

    site: Hostname = Field(description="Site name; outputs go to output/<site>/.")
    description: Text = Field("", description="Free text, one line.")
    domain: DomainName = Field(description="DNS domain of the nodes.")
    release: CatalogName = Field(description="Default target release, e.g. `fedora-15`, `el9`, `debian-12`.")
    timezone: TimeZone = Field("UTC", description="Olson time zone, e.g. `UTC` or `Europe/Berlin`.")
    repos: tuple[CatalogName, ...] = Field(
        (), description="Names of repos (defined in repos/*.yml) nodes install from."
    )
    root_password_hash: PasswordHash = Field(description="crypt(3) hash for root on every node.")
    ssh_keys: tuple[SshKey, ...] = Field((), description="Authorized keys for root on every node.")
    networks: tuple[Network, ...] = Field(min_length=1, description="Networks.")
    roles: dict[Hostname, Role] = Field(description="Roles by name.")
    nodes: tuple[Node, ...] = Field(min_length=1, description="Nodes.")
    clusters: tuple[Cluster, ...] = Field((), description="Clusters.")
    drbd: tuple[DrbdResource, ...] = Field((), description="DRBD resources.")
    volume_groups: tuple[VolumeGroup, ...] = Field((), description="LVM volume groups.")
    openstack: OpenStack | None = Field(None, description="OpenStack Nova settings.")
    images: tuple[Image, ...] = Field((), description="Node images to bake.")
    pxe: Pxe | None = Field(None, description="PXE boot server.")
    lvm: Lvm = Field(default_factory=Lvm, description="LVM filter overrides.")
    licenses: Licenses = Field(default_factory=Licenses, description="License policy.")
    insecure: bool = Field(False, description="Allow repos without gpgcheck (warns on every run).")

    def node(self, hostname: str) -> Node:
        return next(n for n in self.nodes if n.hostname == hostname)

    def network(self, name: str) -> Network:
        return next(n for n in self.networks if n.name == name)

    def release_of(self, node: Node) -> str:
        """The node's own release, else the first of its roles that names one, else the site's."""
        if node.release:
            return node.release
        for role in node.roles:
            if role in self.roles and self.roles[role].release:
                return self.roles[role].release or self.release
        return self.release


def json_schema() -> dict[str, Any]:
    return Site.model_json_schema()
