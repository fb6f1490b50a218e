"""Proof of the offline rebuild on this machine: lock lab-debian against the host's mirror,
snapshot the lock with `mirror`, then build the storage-node image from that snapshot alone
(served on 127.0.0.1, signed with the mirror's own key; no debootstrap cache). The image holds
exactly the locked packages at their locked versions and keeps no trace of the build's source.

Slow (mirror ~1 min for ~770 .debs, build ~4-5 min): marked slow, run by ./kb test."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import pytest

from kickbake import commands
from kickbake.build.aptsources import host_mirror
from kickbake.progress import Progress
from kickbake.record.lock import load_lock, lock_site, package_evr
from kickbake.record.site import mirror_site
from tests.conftest import SITES

pytestmark = [pytest.mark.slow, pytest.mark.realtool]

SITE = SITES / "lab-debian.yml"


def test_storage_node_rebuilds_from_the_mirror_alone(tmp_path: Path) -> None:
    missing = commands.missing_build_tools()
    if missing:
        pytest.skip(f"cannot build images here: missing {', '.join(missing)}")
    out_root, repos = tmp_path / "output", tmp_path / "repos"
    repos.mkdir()
    lock = Path(lock_site(SITE, repos_dir=repos).path)
    commands.render_site(SITE, out_root)
    start = time.monotonic()
    snapshot = mirror_site(SITE, out_root, repos)
    print(f"\nMIRROR lab-debian: {snapshot.repos} packages in {time.monotonic() - start:.0f}s")
    start = time.monotonic()
    [result] = commands.build_site(SITE, "storage-node", ("tar",), "baremetal", out_root=out_root,
                                   progress=Progress.to_stderr(), lock_path=lock, from_mirror=True)
    print(f"\nBUILD lab-debian storage-node from the mirror: {time.monotonic() - start:.0f}s")

    images = out_root / "lab-debian" / "images"
    log = (images / "storage-node.build.log").read_text(errors="replace")
    host_uri, _ = host_mirror("bookworm")
    assert log.count(host_uri) == 0, "the build reached the host's mirror"  # the URI itself is not printed
    assert "DIB_DEBOOTSTRAP_CACHE=0" in result.command and "found in cache" not in log
    assert "I: Valid Release signature" in log  # debootstrap checked the mirror's own signature
    locked = load_lock(lock)["images"]["storage-node"]["packages"]
    assert f"kickbake-lock: all {len(locked)} locked packages installed at their locked versions" in log
    assert "not in the lock" not in log

    assert json.loads((images / "storage-node.image.json").read_text())["package_source"] == "mirror"
    manifest = json.loads((images / "storage-node.manifest.json").read_text())
    installed = sorted((p["name"], package_evr(p)) for p in manifest["packages"])
    assert installed == sorted((p["name"], package_evr(p)) for p in locked)
    # the nodes' apt: the same snapshot as the lab's PXE server publishes it, trusted by the mirror's key
    with tarfile.open(images / "storage-node.tar") as image:
        apt_files = {m.name: m for m in image.getmembers() if m.isfile() and m.name.startswith("./etc/apt/")}
        assert "./etc/apt/trusted.gpg.d/kickbake-mirror.gpg" in apt_files
        sources = b"".join(image.extractfile(m).read() for name, m in sorted(apt_files.items())  # type: ignore[union-attr]
                           if name.startswith("./etc/apt/sources.list"))
    assert sources == b"deb http://192.168.122.1/lab-debian/repos/debian-12/ bookworm main\n"
