"""The contract between the renderer and the first-boot agent: what `node.json` holds.

`output/<site>/nodes/<node>/node.json` is written by kickbake.render (one per node) and read on
the node by the first-boot agent (elements/kickbake-firstboot). The agent knows exactly the
actions listed in ACTIONS; each step is idempotent, and `once` steps are guarded so they never
destroy data (no create-md, pvcreate, vgcreate or mkfs on a device that already holds DRBD
metadata, an LVM label or a filesystem signature)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# action -> the args it takes (all strings, lists of strings or ints) and what it does
ACTIONS: dict[str, str] = {
    "set-hostname": "args: hostname. Set the static host name.",
    "configure-network": "args: interfaces [{name, mac, address (CIDR or ''), gateway}]. Static addresses.",
    "install-files": "args: none. Copy the bundle's files (node.json `files`) with mode/owner/group.",
    "install-packages": "args: packages. Install from the site repos (bake level `base` only).",
    "enable-services": "args: services. systemctl enable (not start).",
    "start-services": "args: services. systemctl start, in order.",
    "load-module": "args: module. modprobe.",
    "lvm-add-device": "args: device. lvmdevices --adddev where the devices file is in use.",
    "drbd-create-md": "args: resource, disk. Only if `drbdadm dump-md` finds no metadata and `wipefs -n` no signature.",
    "drbd-up": "args: resource. drbdadm adjust (idempotent form of up).",
    "drbd-initial-sync": "args: resource. ONE node: primary --force, only when both sides are Inconsistent.",
    "drbd-wait-connected": "args: resource, timeout. Wait for Connected and UpToDate on both sides.",
    "drbd-primary": "args: resource. drbdadm primary (dual-primary second node, after sync).",
    "vg-create-shared": "args: vg, devices, lock_type (dlm|clvm|none). ONE node; skipped if VG/PV label exists.",
    "vg-lock-start": "args: vg, timeout. Other nodes: wait for the VG to appear, then vgchange --lock-start.",
    "lv-create": "args: vg, lv, size, activation (ey|sy|y). ONE node; skipped if the LV exists.",
    "fs-create": "args: device, argv, fstype, owner. ONE node, once: mkfs only on a blank LV; root owned by owner.",
    "mount-fs": "args: vg, lv, device, fstype, mount, options, timeout. Wait for the LV and its filesystem, "
    "activate shared, mount.",
    "sql-databases": "args: configs, service. Start the SQL server; create each config's databases and user.",
    "rabbitmq-user": "args: config, service. Start RabbitMQ; add (or re-password) nova.conf's user, grant /.",
    "keystone-bootstrap": "args: openrc, argv. keystone-manage bootstrap, the admin password from the openrc file.",
    "keystone-register": "args: openrc, project, roles, region, users, services. Keystone v3 API: service "
    "project, users (passwords from their configs) and roles, services and endpoints.",
    "keystone-manage-register": "args: as keystone-register. Diablo: the same with keystone-manage.",
    "http-wait": "args: urls, timeout. Wait until every URL answers HTTP.",
    "run": "args: argv. A fixed command from kickbake's templates (never inventory text through a shell).",
}


@dataclass(frozen=True)
class BundleFile:
    path: str  # absolute path on the node, e.g. /etc/corosync/corosync.conf
    source: str  # path inside the bundle directory, e.g. etc/corosync/corosync.conf
    mode: str = "0644"
    owner: str = "root"
    group: str = "root"
    secret: bool = False  # never printed, mode 0600


@dataclass(frozen=True)
class Step:
    id: str  # unique within the node, stable across renders: "drbd-create-md:r0"
    action: str
    args: dict[str, Any] = field(default_factory=dict)
    once: bool = False  # recorded as done in /var/lib/kickbake/steps/<id>; skipped afterwards

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown first-boot action {self.action!r}")


@dataclass(frozen=True)
class NodeBundle:
    site: str
    node: str
    release: str
    files: tuple[BundleFile, ...]
    steps: tuple[Step, ...]
    schema: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
