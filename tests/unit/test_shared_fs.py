"""Nova's instances_path on GFS2 on the shared LV (lab-el9): made once on the first member, mounted
on every member (by the steps in a lab without fence devices, by pacemaker's Filesystem clone with
them), and the agent's mkfs guard against the real wipefs/blkid/mkfs.gfs2 on a file."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kickbake.firstboot import actions, storage
from tests.bundles import render
from tests.conftest import SITES

DEVICE = "/dev/vg_shared/lv_instances"


def steps_of(out: Path, node: str) -> list[dict]:
    return json.loads((out / "nodes" / node / "node.json").read_text())["steps"]


def test_the_first_member_makes_gfs2_once_and_every_member_mounts_it(out_root: Path) -> None:
    out = render(SITES / "lab-el9.yml", out_root)
    first = [s["id"] for s in steps_of(out, "drbd-node1")]
    create, mount = "fs-create:vg_shared/lv_instances", "mount:/var/lib/nova/instances"
    assert first.index("lv-create:vg_shared/lv_instances") < first.index(create) < first.index(mount)
    second = [s["id"] for s in steps_of(out, "drbd-node2")]
    assert create not in second and second.index("vg-lock-start:vg_shared") < second.index(mount)
    step = next(s for s in steps_of(out, "drbd-node1") if s["id"] == create)
    assert step["once"] and step["args"]["owner"] == "nova"
    assert step["args"]["argv"] == ["mkfs.gfs2", "-O", "-p", "lock_dlm", "-t", "drbdclu:lv_instances", "-j", "2",
                                    DEVICE]
    nova = (out / "nodes" / "drbd-node2" / "etc" / "nova" / "nova.conf").read_text()
    assert "instances_path = /var/lib/nova/instances" in nova


def test_pacemaker_mounts_it_after_the_lv_in_the_vg_clone(out_root: Path) -> None:
    out = render(SITES / "lab-el9.yml", out_root)
    cib = ET.fromstring((out / "nodes" / "drbd-node1" / "etc" / "kickbake" / "cib.xml").read_text())
    group = cib.find(".//clone[@id='vg_shared-clone']/group")
    assert group is not None
    kinds = [p.get("type") for p in group.findall("primitive")]
    assert kinds == ["LVM-activate", "Filesystem"]  # a group starts in order: the LV is active first
    fs = {n.get("name"): n.get("value") for n in group.findall("primitive")[1].iter("nvpair")}
    assert fs == {"device": DEVICE, "directory": "/var/lib/nova/instances", "fstype": "gfs2", "options": "noatime"}
    order = cib.find(".//rsc_order[@then='vg_shared-clone']")
    assert order is not None and order.get("first") == "locking-clone"  # after dlm + lvmlockd


def test_with_fence_devices_the_steps_leave_the_mount_to_pacemaker(tmp_path: Path, out_root: Path) -> None:
    text = (SITES / "lab-el9.yml").read_text()
    manual = ("    fencing:\n      mode: manual              # lab only: no fence device; stonith_admin --confirm "
              "after a failure\n")
    assert manual in text
    devices = ("    fencing:\n      mode: device\n      devices:\n"
               "        - {node: drbd-node1, agent: fence_ipmilan, delay: 15,\n"
               "           params: {ip: 192.168.123.11, username: admin}}\n"
               "        - {node: drbd-node2, agent: fence_ipmilan, params: {ip: 192.168.123.12, username: admin}}\n")
    (tmp_path / "lab-el9.yml").write_text(text.replace(manual, devices))
    out = render(tmp_path / "lab-el9.yml", out_root)
    ids = [s["id"] for s in steps_of(out, "drbd-node1")]
    assert "fs-create:vg_shared/lv_instances" in ids and "mount:/var/lib/nova/instances" not in ids
    assert ids[-1] == "push-cib"


def context(ran: list[list[str]]) -> actions.Context:
    def run(argv, check=True, env=None, input=None, secret=None):
        ran.append(list(argv))
        return actions.run(argv, check=check, env=env, input=input, secret=secret)

    return actions.Context(bundle={}, bundle_dir="", log=lambda m: None, run=run, sleep=time.sleep)


@pytest.mark.realtool
def test_mkfs_runs_on_a_blank_lv_only(tmp_path: Path) -> None:
    if not (shutil.which("mkfs.gfs2") and shutil.which("wipefs") and shutil.which("blkid")):
        pytest.skip("gfs2-utils / util-linux are not installed (./kb test installs them)")
    device = tmp_path / "lv"
    subprocess.run(["truncate", "-s", "64M", str(device)], check=True)
    argv = ["mkfs.gfs2", "-O", "-p", "lock_dlm", "-t", "drbdclu:lv_instances", "-j", "2", str(device)]
    args = {"device": str(device), "argv": argv, "fstype": "gfs2", "owner": ""}
    ran: list[list[str]] = []
    assert storage.fs_create(context(ran), args) == f"made gfs2 on {device}"
    assert argv in ran
    ran.clear()
    assert storage.fs_create(context(ran), args) == f"{device} already holds gfs2: kept"
    assert argv not in ran  # never formatted twice
    other = tmp_path / "other"
    subprocess.run(["truncate", "-s", "64M", str(other)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(other)], check=True)
    with pytest.raises(actions.StepFailed, match="is not blank, not formatting it"):
        storage.fs_create(context(ran), {**args, "device": str(other)})
