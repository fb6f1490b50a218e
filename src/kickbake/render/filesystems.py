"""Filesystems on the shared VG's LVs (Nova's instances_path on GFS2): made once on the first
member, mounted on every member. With fence devices pacemaker mounts them (a Filesystem primitive
in the VG's clone group, after its LVM-activate: so after dlm, lvmlockd and the VG); in a lab
without fence devices nothing runs pacemaker, so the first-boot steps mount them directly."""

from __future__ import annotations

from dataclasses import dataclass

from kickbake.firstboot.steps import Step
from kickbake.model.schema import Filesystem, LogicalVolume, VolumeGroup

WAIT_SECONDS = 900  # the first member's mkfs, after DRBD sync and vgcreate
MOUNT_OPTIONS = {"gfs2": "noatime", "ocfs2": "noatime", "ext4": "defaults", "xfs": "defaults"}


@dataclass(frozen=True)
class MountView:
    """One LV's filesystem as the CIB and the steps need it."""

    id: str  # CIB id: fs-<vg>-<lv>
    vg: str
    lv: str
    device: str
    fstype: str
    mount: str
    options: str


def mount_view(vg: VolumeGroup, lv: LogicalVolume, fs: Filesystem) -> MountView:
    return MountView(id=f"fs-{vg.name}-{lv.name}", vg=vg.name, lv=lv.name, device=f"/dev/{vg.name}/{lv.name}",
                     fstype=fs.type, mount=fs.mount, options=MOUNT_OPTIONS[fs.type])


def cluster_mounts(vgs: tuple[VolumeGroup, ...]) -> dict[str, tuple[MountView, ...]]:
    """VG name -> its cluster filesystems, for the VG's clone group in the CIB."""
    return {vg.name: tuple(mount_view(vg, lv, lv.filesystem) for lv in vg.logical_volumes
                           if lv.filesystem is not None and lv.filesystem.clustered) for vg in vgs}


def mkfs_argv(fs: Filesystem, cluster: str, members: int, lv: LogicalVolume, device: str) -> list[str]:
    """mkfs for the filesystem: GFS2 and OCFS2 with dlm locking named after the cluster (the lock
    table is <cluster>:<fs>; corosync's cluster_name must match at mount), a journal per member."""
    journals = str(fs.journals or members)
    if fs.type == "gfs2":
        return ["mkfs.gfs2", "-O", "-p", "lock_dlm", "-t", f"{cluster}:{lv.name}", "-j", journals, device]
    if fs.type == "ocfs2":
        return ["mkfs.ocfs2", "--cluster-stack=pcmk", f"--cluster-name={cluster}", "-N", journals, "-L", lv.name,
                device]
    return [f"mkfs.{fs.type}", "-q", device]


def create_steps(vg: VolumeGroup, lv: LogicalVolume, cluster: str, members: int) -> list[Step]:
    """The first member, after lvcreate: the filesystem, once, only on a blank LV."""
    if lv.filesystem is None:
        return []
    view = mount_view(vg, lv, lv.filesystem)
    args = {"device": view.device, "argv": mkfs_argv(lv.filesystem, cluster, members, lv, view.device),
            "fstype": view.fstype, "owner": lv.filesystem.owner or ""}
    return [Step(f"fs-create:{vg.name}/{lv.name}", "fs-create", args, once=True)]


def mount_steps(vg: VolumeGroup, pacemaker: bool) -> list[Step]:
    """Every member: mount the VG's filesystems, unless pacemaker does (fence devices)."""
    steps = []
    for lv in vg.logical_volumes:
        fs = lv.filesystem
        if fs is None or (pacemaker and fs.clustered):
            continue
        view = mount_view(vg, lv, fs)
        args = {"vg": vg.name, "lv": lv.name, "device": view.device, "fstype": view.fstype, "mount": view.mount,
                "options": view.options, "timeout": WAIT_SECONDS}
        steps.append(Step(f"mount:{view.mount}", "mount-fs", args))
    return steps
