"""The record tasks end to end through the `kickbake` command, on a site whose only repo is an
rpmbuild fixture repo (a temporary project root: its own repos/, the real tasks and templates):
lock -> dnf installs exactly the lock -> record -> lock --update -> mirror."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from kickbake.hashing import sha256_file
from kickbake.record.lock import load_lock, pinned_packages
from tests.conftest import ROOT, kb, require_tool
from tests.integration.rpmfixture import FakePackage, build_repo, dnf_install

pytestmark = pytest.mark.realtool

BASE = [FakePackage(name, "1.0", "GPLv2+") for name in ("openssh-server", "chrony", "rsync")]  # fedora-43 base
HASH = "$6$kickbakelab$BjuWqr57PYu7xbEJxVtgaGx8H8fmaxWDGdAIIMOAyeJkdpg0orXIQ.Yq9s/6lMdrn.5hbqVweXWMvNsGt9TJa1"
SITE = """site: fixture-lab
domain: lab.example
release: fedora-43
repos: [kb-fixture]
root_password_hash: "HASH"
networks:
  - {name: mgmt, cidr: 192.168.122.0/24}
roles:
  plain: {packages: [kb-tool]}
nodes:
  - hostname: node1
    roles: [plain]
    interfaces:
      - {name: eth0, mac: "52:54:00:00:00:01", network: mgmt, address: 192.168.122.11}
    disks:
      - {name: vda, use: root}
images:
  - {name: plain-node, roles: [plain], types: [raw]}
"""


def _project(tmp_path: Path, repo: Path) -> Path:
    """A project root that is this checkout except for repos/, which gains the fixture repo."""
    root = tmp_path / "project"
    (root / "repos").mkdir(parents=True)
    for name in ("tasks.py", "kickstarts", "sites"):
        (root / name).symlink_to(ROOT / name)
    for path in (ROOT / "repos").glob("*.yml"):
        (root / "repos" / path.name).write_text(path.read_text())
    (root / "repos" / "fixture.yml").write_text(
        f"release: fedora-43\nrepos:\n  - {{name: kb-fixture, kind: rpm, baseurl: 'file://{repo}', gpgcheck: true, "
        "gpgkey: 'file:///dev/null'}\n")
    return root


def _kb(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return kb(*args, root=root, out=root / "output", env={"SOURCE_DATE_EPOCH": "0"})


def test_lock_record_update_mirror_through_the_cli(tmp_path: Path) -> None:
    for tool in ("rpmbuild", "createrepo_c", "dnf", "rpm"):
        require_tool(tool)
    repo = build_repo(tmp_path, [*BASE, FakePackage("kb-lib", "1.0", "MIT"),
                                 FakePackage("kb-tool", "2.1", "GPLv2+", ("kb-lib",))])
    root = _project(tmp_path, repo)
    site = root / "fixture-lab.yml"
    site.write_text(SITE.replace("HASH", HASH))

    locked = _kb(root, "lock", "--site", str(site), "--json")
    assert locked.returncode == 0, locked.stderr
    lock_path = root / "repos" / "fixture-lab.lock"
    lock = load_lock(lock_path)
    assert "@core" in lock["images"]["plain-node"]["requested"]  # comps groups: installed by the build, not solved
    assert [p["name"] for p in lock["images"]["plain-node"]["packages"]] == [
        "chrony", "kb-lib", "kb-tool", "openssh-server", "rsync"]

    image_root, image_file = tmp_path / "installroot", root / "output" / "fixture-lab" / "images" / "plain-node.raw"
    dnf_install(tmp_path, repo, image_root, pinned_packages(lock, "plain-node"))
    image_file.parent.mkdir(parents=True)
    image_file.write_bytes(b"image")
    recorded = _kb(root, "record", "--site", str(site), "--image", "plain-node", "--root", str(image_root),
                   "--image-file", str(image_file), "--json")
    assert recorded.returncode == 0, recorded.stderr
    manifest = json.loads(Path(json.loads(recorded.stdout)["manifest"]).read_text())
    assert manifest["chain"]["lock_sha256"] == sha256_file(lock_path)
    assert manifest["inventory_slice"]["packages"] == ["@core", "chrony", "kb-tool", "openssh-server", "rsync"]
    assert len(manifest["packages"]) == 5

    build_repo(tmp_path, [FakePackage("kb-lib", "1.1", "MIT")])  # a new kb-lib appears upstream
    kept = _kb(root, "lock", "--site", str(site))
    assert "no changes" in kept.stdout  # without --update the lock holds
    updated = _kb(root, "lock", "--site", str(site), "--update")
    assert "plain-node: ~ kb-lib.noarch 1.0-1 -> 1.1-1" in updated.stdout

    mirrored = _kb(root, "mirror", "--site", str(site), "--json")
    assert mirrored.returncode == 0, mirrored.stderr
    mirror = root / "output" / "fixture-lab" / "repos" / "kb-fixture"  # published by ./kb serve
    assert sorted(p.name for p in mirror.rglob("*.rpm"))[:2] == ["chrony-1.0-1.noarch.rpm", "kb-lib-1.1-1.noarch.rpm"]
    assert len(list(mirror.rglob("*.rpm"))) == 5 and (mirror / "repodata" / "repomd.xml").is_file()
