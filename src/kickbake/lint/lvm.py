"""LVM rules: where PVs live, which locking the release's lvm2 has, and what the filters let through.

Sources: lvmlockd(8), lvm.conf(5) devices/filter and global_filter, lvmdevices(8), the DRBD user's
guide chapter on LVM, lvm2 WHATS_NEW 2.03.00 (clvmd removed)."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import (
    backing_disks,
    cluster_named,
    drbd_of_device,
    index,
    is_legacy,
    releases_of,
    two_primaries,
    volume_groups,
)
from kickbake.model.lvmfilter import filter_accepts, filter_or_none
from kickbake.model.plan import SitePlan


def _drbd_devices_of_vgs(plan: SitePlan) -> list[str]:
    return sorted({d for _, vg in volume_groups(plan) for d in vg.devices if drbd_of_device(plan, d, vg)})


def _backing_device(plan: SitePlan, name: str) -> str:
    return next(r.device for r in plan.site.drbd if r.name == name)


@rule("LVM001", Severity.ERROR, "a VG sits on the DRBD device, never on its backing disk")
def vg_not_on_backing_disk(plan: SitePlan) -> RuleResult:
    backing = backing_disks(plan)
    for i, vg in volume_groups(plan):
        for j, device in enumerate(vg.devices):
            if device in backing:
                res = _backing_device(plan, backing[device][0])
                yield ("volume_groups", i, "devices", j), (
                    f"{device} is the backing disk of DRBD {', '.join(backing[device])}: LVM on it bypasses "
                    "replication and corrupts the DRBD metadata"
                ), f"use the DRBD device {res} instead"


@rule("LVM002", Severity.ERROR, "the LVM filter accepts the DRBD devices")
def filter_accepts_drbd(plan: SitePlan) -> RuleResult:
    entries = plan.site.lvm.filter
    if entries is None:
        return
    for device in _drbd_devices_of_vgs(plan):
        if not filter_accepts(entries, device):
            yield ("lvm", "filter"), (
                f"devices/filter rejects {device}, which holds a VG: LVM would not see it"
            ), 'accept it before any reject, e.g. "a|^/dev/drbd[0-9]+$|"'


@rule("LVM003", Severity.ERROR, "the LVM filters reject the DRBD backing disks")
def filters_reject_backing(plan: SitePlan) -> RuleResult:
    lvm = plan.site.lvm
    if lvm.filter is None or lvm.global_filter is None:
        return  # the derived default rejects every backing disk
    for disk in sorted(backing_disks(plan)):
        if filter_accepts(lvm.filter, disk) and filter_accepts(lvm.global_filter, disk):
            yield ("lvm", "filter"), (
                f"neither devices/filter nor global_filter rejects DRBD backing disk {disk}: LVM sees "
                "the same PV twice (on the disk and on the DRBD device)"
            ), f'add "r|^{disk}$|" to global_filter'


@rule("LVM004", Severity.ERROR, "global_filter does not reject the DRBD devices a VG is on")
def global_filter_keeps_drbd(plan: SitePlan) -> RuleResult:
    entries = plan.site.lvm.global_filter
    if entries is None:
        return
    for device in _drbd_devices_of_vgs(plan):
        if not filter_accepts(entries, device):
            yield ("lvm", "global_filter"), (
                f"global_filter rejects {device}, which holds a VG ('r|^/dev/drbd|' is for DRBD on top "
                "of LVM, not LVM on DRBD)"
            ), "remove the pattern that rejects /dev/drbd*"


@rule("LVM005", Severity.WARNING, "devices/filter is ignored where lvm2 uses a devices file")
def filter_ignored(plan: SitePlan) -> RuleResult:
    if plan.site.lvm.filter is None:
        return
    holders = index(plan).by_member  # nodes that hold DRBD devices, where LVM-on-DRBD needs the filter
    users = sorted(v.hostname for v in plan.nodes if v.release.facts.devices_file and v.hostname in holders)
    if users:
        yield ("lvm", "filter"), (
            f"{', '.join(users)} use /etc/lvm/devices/system.devices, so lvm ignores devices/filter "
            "(lvmdevices(8)); kickbake adds the DRBD devices there instead"
        ), "remove lvm.filter, or keep it only for the releases without a devices file"


@rule("LVM006", Severity.ERROR, "every LVM filter entry is an accept or reject pattern")
def filter_syntax(plan: SitePlan) -> RuleResult:
    for field in ("filter", "global_filter"):
        for j, entry in enumerate(getattr(plan.site.lvm, field) or ()):
            if filter_or_none(entry) is None:
                yield ("lvm", field, j), f"{entry!r} is not an lvm.conf filter pattern", (
                    'write a or r, a delimiter, a regular expression and the delimiter again: "a|^/dev/drbd|"'
                )


@rule("LVM007", Severity.ERROR, "clvmd locking only on lvm2 2.02")
def clvmd_needs_lvm202(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        cluster = cluster_named(plan, vg.cluster)
        if not vg.shared or cluster is None or not is_legacy(cluster):
            continue
        new = sorted(h for h, r in releases_of(plan, cluster.members).items() if r.facts.lvm != "2.02")
        if new:
            yield ("volume_groups", i, "shared"), (
                f"clustered VG {vg.name} needs clvmd and locking_type 3, but {', '.join(new)} run "
                "lvm2 2.03, which removed both"
            ), "use stack: current (lvmlockd, vgcreate --shared) for this cluster"


@rule("LVM008", Severity.ERROR, "lvmlockd with dlm only where dlm exists")
def lvmlockd_dlm_exists(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        cluster = cluster_named(plan, vg.cluster)
        if not vg.shared or cluster is None or is_legacy(cluster):
            continue
        without = sorted(h for h, r in releases_of(plan, cluster.members).items() if not r.facts.dlm)
        if without:
            yield ("volume_groups", i, "shared"), (
                f"shared VG {vg.name} uses lvmlockd with dlm, but {', '.join(without)} run a release "
                "without dlm (EL10 dropped dlm and builds lvmlockd for sanlock only)"
            ), "run the cluster on EL9 or Debian 12, or keep the VG local (shared: false) on EL10"


@rule("LVM009", Severity.ERROR, "a shared VG sits on DRBD devices only")
def shared_vg_on_drbd(plan: SitePlan) -> RuleResult:
    backing = backing_disks(plan)
    for i, vg in volume_groups(plan):
        if not vg.shared:
            continue
        for j, device in enumerate(vg.devices):
            if drbd_of_device(plan, device, vg) is None and device not in backing:
                yield ("volume_groups", i, "devices", j), (
                    f"{device} is not a DRBD device of this site: other members cannot see it"
                ), "put shared VGs on a /dev/drbdN defined under drbd"


@rule("LVM010", Severity.ERROR, "a VG on a dual-primary DRBD device is shared")
def dual_primary_vg_shared(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        for device in vg.devices:
            found = drbd_of_device(plan, device, vg)
            if found and two_primaries(found[1]) and not vg.shared:
                yield ("volume_groups", i, "shared"), (
                    f"{vg.name} is a local VG on dual-primary {device}: both primaries would change its "
                    "metadata without locks"
                ), "set shared: true and name the cluster"


@rule("LVM011", Severity.ERROR, "a shared VG sits on a device every member can open")
def shared_vg_needs_dual_primary(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        for device in vg.devices:
            found = drbd_of_device(plan, device, vg)
            if vg.shared and found and not two_primaries(found[1]):
                yield ("volume_groups", i, "shared"), (
                    f"shared VG {vg.name} is on {device}, but DRBD {found[1].name} is single-primary: "
                    "the secondary cannot open it to start the lockspace"
                ), f"set dual_primary: true on drbd {found[1].name}, or make the VG local (shared: false)"


@rule("LVM012", Severity.ERROR, "a PV belongs to one VG")
def pv_in_one_vg(plan: SitePlan) -> RuleResult:
    seen: dict[object, str] = {}
    for i, vg in volume_groups(plan):
        for j, device in enumerate(vg.devices):
            found = drbd_of_device(plan, device, vg)
            # a DRBD device is one PV wherever it is replicated; a local path is one PV per cluster
            key = ("drbd", found[1].name) if found else (device, vg.cluster)
            if key in seen:
                yield ("volume_groups", i, "devices", j), f"{device} is already a PV of {seen[key]}", (
                    "give each VG its own devices"
                )
            else:
                seen[key] = vg.name


@rule("LVM013", Severity.WARNING, "only a shared VG names a cluster")
def local_vg_cluster(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        if vg.cluster is not None and not vg.shared:
            yield ("volume_groups", i, "cluster"), (
                f"{vg.name} is local (shared: false), so cluster {vg.cluster} does not lock it"
            ), "set shared: true, or remove cluster"
