"""LVM rules about the logical volumes kickbake creates at first boot: names lvm accepts,
unique within their VG, and room for them.

Source: lvm(8) VALID NAMES (reserved names and substrings), checked against lvm2 2.03.16's page."""

from __future__ import annotations

from kickbake.lint.engine import RuleResult, Severity, rule
from kickbake.lint.views import drbd_of_device, index, volume_groups
from kickbake.model.plan import SitePlan
from kickbake.model.schema import VolumeGroup

_RESERVED_LV = {".", "..", "snapshot", "pvmove"}
_RESERVED_LV_PARTS = ("_cdata", "_cmeta", "_corig", "_iorig", "_mimage", "_mlog", "_pmspare", "_rimage",
                      "_rmeta", "_tdata", "_tmeta", "_vdata", "_vorigin")
_RESERVED_VG = {".", "..", "mapper", "disk", "block", "drbd", "null", "zero", "shm", "pts"}
_UNIT_GIB = {"K": 1 / 1024 / 1024, "M": 1 / 1024, "G": 1}


def _why_reserved(name: str, lv: bool) -> str | None:
    if name.startswith("-"):
        return "begins with a hyphen"
    if lv and name in _RESERVED_LV:
        return "is a name lvm reserves"
    if lv:
        part = next((p for p in _RESERVED_LV_PARTS if p in name), None)
        return f"contains {part}, which lvm reserves for its sub-LVs" if part else None
    return "is a name lvm reserves (or an entry of /dev)" if name in _RESERVED_VG else None


@rule("LVM014", Severity.ERROR, "VG and LV names are names lvm accepts")
def lvm_names(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        why = _why_reserved(vg.name, lv=False)
        if why:
            yield ("volume_groups", i, "name"), f"VG name {vg.name!r} {why} (lvm(8) VALID NAMES)", "rename the VG"
        for j, lv in enumerate(vg.logical_volumes):
            why = _why_reserved(lv.name, lv=True)
            if why:
                yield ("volume_groups", i, "logical_volumes", j, "name"), (
                    f"LV name {lv.name!r} {why} (lvm(8) VALID NAMES): lvcreate refuses it"
                ), "rename the LV, e.g. lv_instances"


@rule("LVM015", Severity.ERROR, "LV names are unique within their VG")
def unique_lv_names(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        seen: set[str] = set()
        for j, lv in enumerate(vg.logical_volumes):
            if lv.name in seen:
                yield ("volume_groups", i, "logical_volumes", j, "name"), (
                    f"{vg.name} already has an LV {lv.name}: the second lvcreate fails at first boot"
                ), "give every LV of a VG its own name"
            seen.add(lv.name)


def _size_gib(size: str) -> float:
    return int(size[:-1]) * _UNIT_GIB[size[-1]]


def _capacity_gib(plan: SitePlan, vg: VolumeGroup) -> float | None:
    """The VG's size from its PVs' backing disks (the smallest replica of each DRBD device);
    None when a size is not written in the inventory."""
    total = 0.0
    for device in vg.devices:
        found = drbd_of_device(plan, device, vg)
        if found is None:
            return None
        res = found[1]
        sizes = [
            d.size_gib for m in res.members if m in index(plan).nodes
            for d in index(plan).nodes[m].disks if f"/dev/{d.name}" == res.disk
        ]
        if not sizes or None in sizes:
            return None
        total += min(s for s in sizes if s is not None)
    return total


@rule("LVM016", Severity.ERROR, "the LVs fit in their VG")
def lvs_fit(plan: SitePlan) -> RuleResult:
    for i, vg in volume_groups(plan):
        capacity = _capacity_gib(plan, vg)
        wanted = sum(_size_gib(lv.size) for lv in vg.logical_volumes)
        if capacity is not None and wanted > capacity:
            yield ("volume_groups", i, "logical_volumes"), (
                f"the LVs of {vg.name} need {wanted:g} GiB but its PVs hold {capacity:g} GiB "
                "(the backing disks' size_gib): lvcreate fails at first boot"
            ), "shrink the LVs or give the backing disks more room"
