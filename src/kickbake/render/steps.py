"""The ordered first-boot steps of a node (the order of the DRBD, lvmlockd and pacemaker guides).

ONE-node steps (initial sync, vgcreate, lvcreate, CIB push) go to the first member only; the
others wait for the VG and start its lockspace. Destructive steps are `once`. The storage stack
(DRBD dual-primary, corosync, dlm, lvmlockd, the shared VG) is brought up by these steps directly,
without pacemaker, so a lab with manual fencing comes up too; with real fence devices the first
member then pushes the CIB and pacemaker takes over."""

from __future__ import annotations

from kickbake.firstboot.steps import Step
from kickbake.model.clusterview import ClusterView, DrbdView
from kickbake.model.plan import NodeView, SitePlan
from kickbake.model.schema import VolumeGroup
from kickbake.model.types import Bake, Stack
from kickbake.render import filesystems
from kickbake.render.cluster import CIB_PATH

WAIT_SECONDS = 900  # DRBD connect + resync and the peer's vgcreate; qemu TCG is slow
# cluster daemons started by first boot, per stack, before the shared VG is created
CLUSTER_SERVICES = {Stack.LEGACY: ("cman",), Stack.CURRENT: ("corosync",)}
LOCKING_SERVICES = {Stack.LEGACY: ("clvmd",), Stack.CURRENT: ("dlm", "lvmlockd")}
LOCK_TYPE = {Stack.LEGACY: "clvm", Stack.CURRENT: "dlm"}
# corosync-quorumtool -s exits 0 only when quorate; a fixed command, no inventory text
WAIT_QUORUM = ["timeout", str(WAIT_SECONDS), "sh", "-c", "until corosync-quorumtool -s >/dev/null; do sleep 2; done"]


def base_steps(plan: SitePlan, node: NodeView) -> list[Step]:
    interfaces = [
        {
            "name": i.name,
            "mac": i.mac,
            "address": i.cidr,
            "gateway": str(i.gateway) if i.gateway else "",
        }
        for i in node.interfaces
    ]
    steps = [
        Step("set-hostname", "set-hostname", {"hostname": node.hostname}),
        Step("configure-network", "configure-network", {"interfaces": interfaces}),
        Step("install-files", "install-files"),
    ]
    if _bake_of(plan, node) is Bake.BASE:
        steps.append(Step("install-packages", "install-packages", {"packages": list(node.packages)}))
    steps.append(Step("enable-services", "enable-services", {"services": list(node.services)}))
    return steps


def _bake_of(plan: SitePlan, node: NodeView) -> Bake:
    images = [i for i in plan.site.images if set(i.roles) & set(node.node.roles)]
    return images[0].bake if images else Bake.BASE


def drbd_steps(hostname: str, resources: tuple[DrbdView, ...]) -> list[Step]:
    if not resources:
        return []
    steps = [Step("load-module:drbd", "load-module", {"module": "drbd"})]
    for r in resources:
        disk = r.resource.disk
        steps.append(
            Step(
                f"drbd-create-md:{r.name}",
                "drbd-create-md",
                {"resource": r.name, "disk": disk},
                once=True,
            )
        )
        steps.append(Step(f"drbd-up:{r.name}", "drbd-up", {"resource": r.name}))
    for r in resources:
        if hostname == r.first:
            steps.append(
                Step(
                    f"drbd-initial-sync:{r.name}",
                    "drbd-initial-sync",
                    {"resource": r.name},
                    once=True,
                )
            )
        steps.append(
            Step(
                f"drbd-wait-connected:{r.name}",
                "drbd-wait-connected",
                {"resource": r.name, "timeout": WAIT_SECONDS},
            )
        )
        if r.allow_two_primaries:
            steps.append(Step(f"drbd-primary:{r.name}", "drbd-primary", {"resource": r.name}))
    return steps


def cluster_steps(plan: SitePlan, node: NodeView, view: ClusterView, vgs: tuple[VolumeGroup, ...]) -> list[Step]:
    services = list(CLUSTER_SERVICES[view.stack])
    if vgs:
        services.extend(LOCKING_SERVICES[view.stack])
    steps = [Step("start-services:cluster", "start-services", {"services": services})]
    if view.stack is Stack.CURRENT and vgs:
        # two_node implies wait_for_all: no quorum (so no dlm lockspace, no vgcreate --shared)
        # until every member's corosync has been seen; cman's init script waits by itself
        steps.append(Step("wait-quorum", "run", {"argv": WAIT_QUORUM}))
    if not view.has_fence_devices:
        # nothing will push the CIB, so pacemaker never manages these: they must come back on reboot
        steps.append(Step("enable-services:cluster", "enable-services", {"services": services}))
    if vgs and node.release.facts.devices_file:
        devices = sorted({d for vg in vgs for d in vg.devices})
        steps.extend(Step(f"lvm-add-device:{d}", "lvm-add-device", {"device": d}) for d in devices)
    for vg in vgs:
        steps.extend(_vg_steps(node.hostname, view, vg))
    for vg in vgs:  # after every VG's lockspace: the filesystems, unless pacemaker mounts them
        steps.extend(filesystems.mount_steps(vg, pacemaker=view.stack is Stack.CURRENT and view.has_fence_devices))
    if view.stack is Stack.CURRENT and view.has_fence_devices:
        steps.append(Step("start-services:pacemaker", "start-services", {"services": ["pacemaker"]}))
        if node.hostname == view.first:
            argv = ["cibadmin", "--replace", "--xml-file", CIB_PATH]
            steps.append(Step("push-cib", "run", {"argv": argv}, once=True))
    return steps


def _vg_steps(hostname: str, view: ClusterView, vg: VolumeGroup) -> list[Step]:
    if hostname != view.first:
        if view.stack is Stack.LEGACY:
            return []  # clvmd shows a clustered VG on every member; there is no lockspace to start
        return [
            Step(
                f"vg-lock-start:{vg.name}",
                "vg-lock-start",
                {"vg": vg.name, "timeout": WAIT_SECONDS},
            )
        ]
    args = {"vg": vg.name, "devices": list(vg.devices), "lock_type": LOCK_TYPE[view.stack]}
    steps = [Step(f"vg-create-shared:{vg.name}", "vg-create-shared", args, once=True)]
    for lv in vg.logical_volumes:
        # shared activation: the LVM-activate clone activates it shared on every member
        lv_args = {"vg": vg.name, "lv": lv.name, "size": lv.size, "activation": "sy"}
        steps.append(Step(f"lv-create:{vg.name}/{lv.name}", "lv-create", lv_args, once=True))
        steps.extend(filesystems.create_steps(vg, lv, view.name, len(view.members)))
    return steps
