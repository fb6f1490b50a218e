"""The kickbake-lock element's own scripts, run with the real dnf and rpm on an installroot from a
fixture repo (the rpm path: no Fedora mirror is reachable here to run it inside a DIB build; the
apt path runs in the lab-debian image build, tests/integration/test_image_boot.py). Installing
the pins gives exactly the locked versions; a drifted package fails the verify and is named."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from kickbake.model.catalog import Repo
from kickbake.record.lock import ImageRequest, lock_images, pinned_packages
from tests.conftest import ROOT, require_tool
from tests.integration.rpmfixture import FakePackage, build_repo, dnf_install, rpm_home

pytestmark = pytest.mark.realtool

ELEMENT = ROOT / "elements" / "kickbake-lock"
INSTALL = ELEMENT / "pre-install.d" / "20-kickbake-lock-install"
VERIFY = ELEMENT / "post-install.d" / "99-kickbake-lock-verify"


def dnf_command(base: Path, repo: Path, root: Path) -> str:
    """$YUM for the script: the fixture repo into the installroot (DIB's chroot has its repos)."""
    return " ".join(["dnf", "-q", f"--installroot={root}", "--setopt=reposdir=/dev/null",
                     f"--setopt=cachedir={base / 'dnfcache'}", "--nogpgcheck", f"--repofrompath=fixture,file://{repo}",
                     "--releasever=43", "--setopt=install_weak_deps=False"])


def run_script(script: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(script)], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=300)


def test_install_and_verify_the_pins_with_dnf_and_rpm(tmp_path: Path) -> None:
    for tool in ("rpmbuild", "createrepo_c", "dnf", "rpm"):
        require_tool(tool)
    packages = [FakePackage("kb-lib", "1.0", "MIT"), FakePackage("kb-tool", "2.1", "GPLv2+", ("kb-lib >= 1.0",)),
                FakePackage("kb-extra", "3.0", "MIT")]
    repo = build_repo(tmp_path, packages)
    request = ImageRequest("node", "fedora-43", "rpm", (Repo(name="fixture", kind="rpm", baseurl=f"file://{repo}"),),
                           ("kb-tool",))
    pins = pinned_packages(lock_images("proof", [request], tmp_path / "cache"), "node")
    assert pins == ["kb-lib-1.0-1.noarch", "kb-tool-2.1-1.noarch"]
    lock_dir = tmp_path / "lock"
    lock_dir.mkdir()
    (lock_dir / "kind").write_text("rpm\n")
    (lock_dir / "pins").write_text("".join(f"{p}\n" for p in pins))
    root = tmp_path / "root"
    env = {**rpm_home(tmp_path), "KICKBAKE_LOCK_DIR": str(lock_dir), "YUM": dnf_command(tmp_path, repo, root),
           "KICKBAKE_RPM": f"rpm --root {root}"}

    installed = run_script(INSTALL, env)
    assert installed.returncode == 0, installed.stderr
    assert "installing 2 pinned rpm packages" in installed.stdout
    verified = run_script(VERIFY, env)
    assert verified.returncode == 0, verified.stderr
    assert "all 2 locked packages installed at their locked versions" in verified.stdout
    assert "not in the lock" not in verified.stderr

    # an element installs a package the lock never resolved: built, but said (offline it would fail)
    dnf_install(tmp_path, repo, root, ["kb-extra"])
    unlocked = run_script(VERIFY, env)
    assert unlocked.returncode == 0, unlocked.stderr
    assert "warning: 1 installed packages are not in the lock:\n  kb-extra-3.0-1.noarch\n" in unlocked.stderr

    # the repo moves on and something pulls the newest kb-lib: the image no longer matches its lock
    newer = build_repo(tmp_path / "later", [FakePackage("kb-lib", "1.1", "MIT")])
    dnf_install(tmp_path, newer, root, ["kb-lib-1.1-1.noarch"])
    drifted = run_script(VERIFY, env)
    assert drifted.returncode == 1
    assert "not installed at their locked version:\n  kb-lib-1.0-1.noarch\n" in drifted.stderr
    assert "./kb lock --update" in drifted.stderr


FINALISE = ELEMENT / "finalise.d" / "10-kickbake-lock-build-mirror"


def _built_from_mirror(tmp_path: Path, node_url: str) -> dict[str, str]:
    lock_dir, sources, keyrings = tmp_path / "lock", tmp_path / "sources.list.d", tmp_path / "trusted.gpg.d"
    for directory in (lock_dir, sources, keyrings):
        directory.mkdir(parents=True)
    build_url = "http://127.0.0.1:41234/lab-debian/repos/debian-12/"
    (lock_dir / "build-mirror").write_text(build_url + "\n")
    if node_url:
        (lock_dir / "node-mirror").write_text(node_url + "\n")
    (sources / "default.list").write_text(f"deb {build_url} bookworm main\n")
    (sources / "other.list").write_text("deb http://192.0.2.7/debian bookworm main\n")
    (keyrings / "kickbake-mirror.gpg").write_bytes(b"key")
    return {"KICKBAKE_LOCK_DIR": str(lock_dir), "KICKBAKE_APT_SOURCES_DIR": str(sources),
            "KICKBAKE_APT_KEYRINGS_DIR": str(keyrings)}


def test_a_mirror_build_points_the_image_at_the_sites_published_snapshot(tmp_path: Path) -> None:
    env = _built_from_mirror(tmp_path, "http://192.168.122.1/lab-debian/repos/debian-12/")
    done = run_script(FINALISE, env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "sources.list.d" / "default.list").read_text() == (
        "deb http://192.168.122.1/lab-debian/repos/debian-12/ bookworm main\n")
    assert (tmp_path / "sources.list.d" / "other.list").read_text() == "deb http://192.0.2.7/debian bookworm main\n"
    assert (tmp_path / "trusted.gpg.d" / "kickbake-mirror.gpg").exists()  # the nodes' repo is signed with it


def test_a_mirror_build_without_a_pxe_server_drops_the_source_and_the_key(tmp_path: Path) -> None:
    env = _built_from_mirror(tmp_path, "")
    done = run_script(FINALISE, env)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (tmp_path / "sources.list.d").iterdir()) == ["other.list"]
    assert not (tmp_path / "trusted.gpg.d" / "kickbake-mirror.gpg").exists()
