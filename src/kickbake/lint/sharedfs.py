"""Filesystems on the LVs kickbake creates: a cluster filesystem (GFS2, OCFS2) only where the
cluster can protect it, a local one never where two nodes have the LV active at once.

Sources: Red Hat "Configuring GFS2 file systems" (RHEL 9: GFS2 on an lvmlockd shared VG, dlm,
fencing required, one journal per node that mounts it; gone from RHEL 10); Red Hat KB 129133 (GFS2
on a clvmd "c" or lvmlockd "s" VG); lvmlockd(8) (an LV activated shared, `lvchange -asy`, on
several hosts is for a cluster filesystem) and the DRBD user's guide on dual-primary (a
conventional filesystem written from two nodes is corrupted)."""

from __future__ import annotations

from collections.abc import Iterator

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import cluster_named, node_view, volume_groups
from kickbake.model.plan import SitePlan
from kickbake.model.schema import Filesystem, LogicalVolume, VolumeGroup
from kickbake.model.types import FencingMode


def _filesystems(plan: SitePlan) -> Iterator[tuple[int, VolumeGroup, int, LogicalVolume, Filesystem]]:
    for i, vg in volume_groups(plan):
        for j, lv in enumerate(vg.logical_volumes):
            if lv.filesystem is not None:
                yield i, vg, j, lv, lv.filesystem


@rule("FS001", Severity.ERROR, "a cluster filesystem sits on a shared VG of a cluster")
def cluster_fs_on_shared_vg(plan: SitePlan) -> RuleResult:
    for i, vg, j, lv, fs in _filesystems(plan):
        if fs.clustered and not (vg.shared and cluster_named(plan, vg.cluster)):
            yield ("volume_groups", i, "logical_volumes", j, "filesystem", "type"), (
                f"{fs.type} on {vg.name}/{lv.name}: {vg.name} is not a shared VG of a cluster, so no lock "
                "manager protects the LV every node mounts"
            ), f"set shared: true and cluster: <name> on {vg.name} (lvmlockd/clvmd), or use ext4/xfs on a local VG"


@rule("FS002", Severity.ERROR, "a cluster filesystem has dlm and the release ships it")
def cluster_fs_needs_dlm(plan: SitePlan) -> RuleResult:
    for i, vg, j, lv, fs in _filesystems(plan):
        cluster = cluster_named(plan, vg.cluster)
        if not fs.clustered or cluster is None:
            continue
        for member in cluster.members:
            release = node_view(plan, member).release
            if not release.facts.dlm:
                yield ("volume_groups", i, "logical_volumes", j, "filesystem", "type"), (
                    f"{fs.type} on {vg.name}/{lv.name} locks through dlm, which {release.pretty} ({member}) "
                    "does not have"
                ), "keep this storage on a release with dlm (EL9, Debian 12), or use exclusive activation and ext4/xfs"
                break
            offered = release.facts.cluster_filesystems
            if fs.type not in offered:
                has = f" (its images carry {', '.join(offered)})" if offered else ""
                hint = f"use {offered[0]}" if offered else "keep this storage on a release with a cluster filesystem"
                yield ("volume_groups", i, "logical_volumes", j, "filesystem", "type"), (
                    f"{release.pretty} ({member}) does not ship {fs.type}{has}"
                ), hint
                break


@rule("FS003", Severity.ERROR, "a cluster filesystem's cluster fences")
def cluster_fs_needs_fencing(plan: SitePlan) -> RuleResult:
    for i, vg, j, lv, fs in _filesystems(plan):
        cluster = cluster_named(plan, vg.cluster)
        if fs.clustered and cluster is not None and cluster.fencing.mode is FencingMode.DISABLED:
            yield ("volume_groups", i, "logical_volumes", j, "filesystem", "type"), (
                f"{fs.type} on {vg.name}/{lv.name} in cluster {cluster.name} without fencing: dlm blocks every "
                "lock after a node fails until it is fenced, so the filesystem hangs on all nodes"
            ), f"give cluster {cluster.name} fence devices (fencing.mode: device)"


@rule("FS004", Severity.ERROR, "a cluster filesystem has a journal per member")
def journals_for_members(plan: SitePlan) -> RuleResult:
    for i, vg, j, lv, fs in _filesystems(plan):
        cluster = cluster_named(plan, vg.cluster)
        if fs.clustered and cluster is not None and fs.journals is not None \
                and fs.journals < len(cluster.members):
            yield ("volume_groups", i, "logical_volumes", j, "filesystem", "journals"), (
                f"{fs.journals} journal(s) on {vg.name}/{lv.name} for the {len(cluster.members)} members of "
                f"{cluster.name}: the member that finds no free journal cannot mount it"
            ), f"set journals to at least {len(cluster.members)} (or leave it out: one per member)"


@rule("FS005", Severity.ERROR, "no local filesystem on an LV active on two nodes")
def no_local_fs_on_shared_lv(plan: SitePlan) -> RuleResult:
    for i, vg, j, lv, fs in _filesystems(plan):
        cluster = cluster_named(plan, vg.cluster)
        if not fs.clustered and vg.shared and cluster is not None and len(cluster.members) > 1:
            yield ("volume_groups", i, "logical_volumes", j, "filesystem", "type"), (
                f"{fs.type} on {vg.name}/{lv.name}: kickbake activates the LVs of shared VG {vg.name} on every "
                f"member of {cluster.name}, and {fs.type} mounted on two nodes at once is corrupted"
            ), "use gfs2 (a cluster filesystem), or put a local filesystem on an LV of a local VG"
