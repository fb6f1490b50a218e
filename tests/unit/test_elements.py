"""The elements follow diskimage-builder's conventions (checked by DIB's own dib-lint) and their
pkg-maps carry exactly the packages of the release data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from kickbake.build.spec import FEATURE_ELEMENTS, LAYER_ELEMENT, LOCK_ELEMENT
from kickbake.elements import KICKBAKE_ELEMENTS, builder_packages, element_packages
from kickbake.model.catalog import load_releases
from tests.conftest import ROOT

ELEMENTS = ROOT / "elements"
VENV_BIN = Path(sys.executable).parent
ELEMENT_PACKAGES = {  # element -> generic pkg-map name -> release features it bakes
    "kickbake-base": {"kickbake-base": ("base",)},
    "drbd": {"kickbake-drbd": ("drbd",)},
    "clvm-legacy": {"kickbake-clvm-legacy": ("cluster-legacy", "shared-lvm-legacy")},
    "ha-cluster": {"kickbake-ha-cluster": ("cluster-current", "shared-lvm-current")},
    "openstack-controller": {"kickbake-openstack-controller": ("openstack-controller",),
                             "kickbake-openstack-repo": ("openstack-repo",)},
    "openstack-compute": {"kickbake-openstack-compute": ("openstack-compute",),
                          "kickbake-openstack-repo": ("openstack-repo",)},
}


def lint_env(lib_dir: Path) -> dict[str, str]:
    """dib-lint lints ELEMENTS_DIR and LIB_DIR (an empty one: DIB's own lib is not ours) and runs
    `python`/`flake8` from PATH."""
    path = f"{VENV_BIN}:{os.environ['PATH']}"
    return {**os.environ, "ELEMENTS_DIR": "elements", "LIB_DIR": str(lib_dir), "PATH": path}


def test_dib_lint_passes_on_every_element(tmp_path: Path) -> None:
    dib_lint = VENV_BIN / "dib-lint"
    if not dib_lint.exists():
        pytest.skip("dib-lint (diskimage-builder) is not installed in this venv")
    env = lint_env(tmp_path)
    proc = subprocess.run([str(dib_lint)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "PASS" in proc.stdout
    for element in sorted(ELEMENTS.iterdir()):
        assert f"Checking elements/{element.name}/" in proc.stdout, f"dib-lint did not look at {element.name}"


def test_dib_lint_catches_a_broken_element(tmp_path: Path) -> None:
    """The lint is not a rubber stamp: an unsorted element-deps and a script without set -e fail."""
    dib_lint = VENV_BIN / "dib-lint"
    if not dib_lint.exists():
        pytest.skip("dib-lint (diskimage-builder) is not installed in this venv")
    broken = tmp_path / "elements" / "broken"
    (broken / "install.d").mkdir(parents=True)
    (broken / "README.rst").write_text("======\nbroken\n======\n")
    (broken / "element-deps").write_text("pkg-map\npackage-installs\n")
    script = broken / "install.d" / "10-broken"
    script.write_text("#!/bin/bash\necho hi\n")
    script.chmod(0o755)
    env = lint_env(tmp_path / "lib")
    (tmp_path / "lib").mkdir()
    proc = subprocess.run([str(dib_lint)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert "is not sorted alphabetically" in proc.stdout
    assert "is not set -e" in proc.stdout


def test_every_element_the_build_can_choose_exists_with_readme() -> None:
    choosable = {*FEATURE_ELEMENTS.values(), *KICKBAKE_ELEMENTS, LOCK_ELEMENT, LAYER_ELEMENT}
    for name in choosable:
        assert (ELEMENTS / name / "README.rst").is_file(), name
    assert sorted(p.name for p in ELEMENTS.iterdir()) == sorted(choosable)


def test_environment_files_are_not_executable_and_scripts_are() -> None:
    for path in ELEMENTS.rglob("*"):
        if path.is_file() and path.parent.name == "environment.d":
            assert not os.access(path, os.X_OK), path
        elif path.is_file() and path.parent.name.endswith(".d"):
            assert os.access(path, os.X_OK), path
            assert path.name[:2].isdigit() and path.name[2] == "-", f"{path} is not NN-name"


@pytest.mark.parametrize("element", sorted(ELEMENT_PACKAGES))
def test_pkg_map_carries_exactly_the_release_packages(element: str) -> None:
    pkg_map = json.loads((ELEMENTS / element / "pkg-map").read_text())
    installs = yaml.safe_load((ELEMENTS / element / "package-installs.yaml").read_text())
    for generic in ELEMENT_PACKAGES[element]:
        assert generic in installs, f"{element}: package-installs.yaml does not install {generic}"
    for release in load_releases().values():
        distro = {"debian-minimal": "debian"}.get(release.dib["element"], release.dib["element"])
        mapped = pkg_map["release"][distro][str(release.dib["release"])]
        for generic, features in ELEMENT_PACKAGES[element].items():
            expected = [p for f in features for p in release.packages.get(f, ())]
            assert mapped[generic].split() == expected, f"{element} {release.name} {generic}"


def test_element_packages_follow_dibs_pkg_map_order() -> None:
    """release > distro > family > default, as diskimage-builder's pkg-map resolves them."""
    releases = load_releases()
    assert element_packages("kickbake-base", releases["debian-12"]) == (
        "openssh-server", "iproute2", "iputils-ping", "systemd-timesyncd", "rsync",  # release: bookworm
        "python3", "iproute2", "iputils-ping", "util-linux", "kmod", "lvm2", "e2fsprogs")  # family: debian
    assert element_packages("kickbake-base", releases["fedora-15"])[4:] == (  # release beats family
        "python", "iproute", "iputils", "util-linux", "module-init-tools", "lvm2", "e2fsprogs")
    assert element_packages("kickbake-base", releases["el9"])[4:] == (
        "python3", "iproute", "iputils", "util-linux", "kmod", "lvm2", "e2fsprogs")
    assert element_packages("kickbake-record", releases["el9"]) == ()  # no package-installs.yaml


def test_the_builder_packages_are_what_every_image_gets_first() -> None:
    releases = load_releases()
    debian = builder_packages(releases["debian-12"])
    assert {"lvm2", "python3", "e2fsprogs"} <= set(debian)  # the agent's, even on a node without LVM roles
    assert set(releases["debian-12"].dib["base_packages"]) <= set(debian)
    assert "@core" not in builder_packages(releases["fedora-15"])  # groups stay with the build
    assert list(debian) == sorted(set(debian))
