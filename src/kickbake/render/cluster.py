"""Cluster-wide files (cluster.conf, corosync.conf, authkey, CIB, DRBD resources) rendered ONCE
per cluster or resource and copied verbatim into every member's bundle, plus per-node lvm.conf.

DRBD, cman and corosync require these files to be identical on every member; rendering them
once makes that true by construction (a test still compares the bytes)."""

from __future__ import annotations

from dataclasses import dataclass

from kickbake.model.clusterview import UDEV_ALWAYS_USE_VNR, ClusterView, DrbdView, lvm_filters
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import VolumeGroup
from kickbake.model.types import FencingMode, Stack
from kickbake.paths import PACKAGE_DIR
from kickbake.render.filesystems import MountView, cluster_mounts
from kickbake.render.secrets import SecretStore
from kickbake.render.templating import render_template

TEMPLATES = PACKAGE_DIR / "render" / "templates" / "nodes"
CIB_PATH = "/etc/kickbake/cib.xml"  # pushed with cibadmin when pacemaker manages the stack


@dataclass(frozen=True)
class SharedFile:
    """A file installed identically on several nodes."""

    path: str
    content: bytes
    mode: str = "0644"
    secret: bool = False


@dataclass(frozen=True)
class CibView:
    fencing_property: str
    fencing: bool  # fencing resources exist and are enabled
    on_fail: str  # on-fail of the locking and LV monitors: fence, or block without fencing
    drbd: tuple[DrbdView, ...]
    vgs: tuple[VolumeGroup, ...]
    mounts: dict[str, tuple[MountView, ...]]  # VG -> its cluster filesystems, mounted by its clone group


def _render(name: str, plan: SitePlan, **context: object) -> bytes:
    text = render_template(TEMPLATES, name, inventory=plan.inventory.source.name, **context)
    return text.encode()


def manual_fencing(view: ClusterView) -> bool:
    return view.fencing_mode is not FencingMode.DEVICE


def cluster_files(
    plan: SitePlan,
    view: ClusterView,
    drbd: tuple[DrbdView, ...],
    vgs: tuple[VolumeGroup, ...],
    secrets: SecretStore,
) -> tuple[SharedFile, ...]:
    """The files every member of `view` gets; `drbd` and `vgs` are its members' resources and
    the cluster's shared VGs."""
    if view.stack is Stack.LEGACY:
        conf = _render("cluster/cluster.conf.xml.j2", plan, c=view)
        return (SharedFile("/etc/cluster/cluster.conf", conf),)
    members = {m.name for m in view.members}
    cib = CibView(
        fencing_property=view.facts.pacemaker_fencing_property,
        fencing=view.has_fence_devices,
        on_fail="fence" if view.has_fence_devices else "block",
        drbd=tuple(r for r in drbd if {h.name for h in r.hosts} <= members),
        vgs=vgs,
        mounts=cluster_mounts(vgs),
    )
    files = [
        SharedFile("/etc/corosync/corosync.conf", _render("cluster/corosync.conf.j2", plan, c=view)),
        SharedFile("/etc/corosync/authkey", secrets.corosync_authkey(view.name), mode="0400", secret=True),
        SharedFile(CIB_PATH, _render("cluster/cib.xml.j2", plan, c=view, cib=cib)),
    ]
    if vgs and manual_fencing(view) and view.facts.dlm:
        files.append(SharedFile("/etc/dlm/dlm.conf", _render("cluster/dlm.conf.j2", plan)))
    return tuple(files)


def drbd_files(plan: SitePlan, resource: DrbdView, secrets: SecretStore) -> tuple[SharedFile, ...]:
    """The resource file; it holds the peers' shared secret (cram-hmac-alg), so it is 0600."""
    secret = secrets.password(f"drbd-{resource.name}")
    return (
        SharedFile(
            f"/etc/drbd.d/{resource.name}.res",
            _render(f"drbd/resource-{resource.dialect}.res.j2", plan, r=resource, shared_secret=secret),
            mode="0600",
            secret=True,
        ),
    )


def drbd_common_file(plan: SitePlan, dialect: str) -> SharedFile:
    return SharedFile(
        "/etc/drbd.d/global_common.conf",
        _render("drbd/global_common.conf.j2", plan, dialect=dialect, always_vnr=UDEV_ALWAYS_USE_VNR[dialect]),
    )


def lvm_conf(plan: SitePlan, node: NodeView, resources: tuple[DrbdView, ...], stack: Stack) -> bytes:
    backing = tuple(r.resource for r in resources)
    lvm_filter, global_filter = lvm_filters(plan, node.hostname, backing)
    return _render(
        f"lvm/lvm-{stack.value}.conf.j2",
        plan,
        filter=lvm_filter,
        global_filter=global_filter,
        devices_file=node.release.facts.devices_file,
    )


def hosts_file(plan: SitePlan) -> bytes:
    return _render("base/hosts.j2", plan, hosts=plan.hosts_entries)
