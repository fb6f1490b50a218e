"""Build progress by phase (from DIB's real output lines) and ./kb demo's build step when this
host cannot build."""

from __future__ import annotations

from pathlib import Path

import pytest

from kickbake import commands
from kickbake.build.dib import PhaseTracker, produced_files
from kickbake.errors import KickbakeError

DIB_LINES = [  # as disk-image-create 3.43 prints them (timestamps cut)
    "diskimage-builder version 3.43.0",
    "Running hooks from /tmp/dib_build.abc/hooks/root.d",
    "dib-run-parts Running /tmp/dib_build.abc/hooks/root.d/08-debootstrap",
    "Running hooks from /tmp/dib_build.abc/hooks/extra-data.d",
    "dib-run-parts Running /tmp/in_target.d/pre-install.d/00-baseline-environment",
    "dib-run-parts Running /tmp/in_target.d/pre-install.d/01-install-bin",
    "dib-run-parts Running /tmp/in_target.d/install.d/50-kickbake-repos",
    "dib-run-parts Running /tmp/in_target.d/install.d/70-kickbake-firstboot",
    "dib-run-parts Running /tmp/in_target.d/post-install.d/80-ha-cluster-enable-at-firstboot",
    "Running hooks from /tmp/dib_build.abc/hooks/cleanup.d",
    "Converting image using qemu-img convert",
]


def test_one_progress_line_per_phase() -> None:
    notes: list[str] = []
    tracker = PhaseTracker(notes.append)
    for line in DIB_LINES:
        tracker(line)
    assert tracker.phases == ["root", "extra-data", "pre-install", "install", "post-install", "cleanup", "convert"]
    assert len(notes) == 7 and notes[0].endswith("] root")


def test_only_the_image_outputs_are_moved(tmp_path: Path) -> None:
    for name in ("storage-node.qcow2", "storage-node.vmlinuz", "storage-node.d", "storage-nodeX.qcow2", "other.raw"):
        (tmp_path / name).touch()
    assert [p.name for p in produced_files(tmp_path, "storage-node")] == [
        "storage-node.d", "storage-node.qcow2", "storage-node.vmlinuz"]


def test_demo_build_refuses_to_skip_the_bake_and_says_what_is_missing(monkeypatch) -> None:
    monkeypatch.setattr(commands, "BUILD_HOST_TOOLS", ("kickbake-no-such-tool",))
    with pytest.raises(KickbakeError) as caught:
        commands.demo_build()
    assert caught.value.message.startswith("the demo bakes the lab-debian image, and this host lacks "
                                           "kickbake-no-such-tool")
    assert "./kb demo --no-build" in caught.value.hint and "debootstrap" in caught.value.hint
